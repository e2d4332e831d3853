/**
 * What the policy pack and the stack's components agree on. This module imports nothing, so the
 * pack can load it without the Google Cloud SDK.
 */

/** Principals that stand for everyone on the internet, with or without a Google account. */
export const PUBLIC_PRINCIPALS: readonly string[] = ["allUsers", "allAuthenticatedUsers"];

/** The role that lets a principal call a Cloud Run service. */
export const INVOKER_ROLE = "roles/run.invoker";

/**
 * Roles that include permission to invoke Cloud Run services: `roles/run.invoker` and its
 * services-only variant.
 */
export const INVOKER_ROLES: readonly string[] = [INVOKER_ROLE, "roles/run.servicesInvoker"];
