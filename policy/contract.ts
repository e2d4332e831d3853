/**
 * What the policy pack and the stack agree on. The pack has no other way to know which Cloud
 * Run services are meant to be public, so the stack states it with a label on every service,
 * and the pack treats every service that does not say "public" as private.
 *
 * This module imports nothing, so the pack can load it without the Google Cloud SDK.
 */

/** The label that says who may invoke a Cloud Run service. */
export const INVOKER_ACCESS_LABEL = "invoker-access";

/** The label's values: only `public` opens a service; anything else, or no label, is private. */
export const INVOKER_ACCESS = { public: "public", private: "private" } as const;

/** Principals that stand for everyone on the internet, with or without a Google account. */
export const PUBLIC_PRINCIPALS: readonly string[] = ["allUsers", "allAuthenticatedUsers"];

/** The role that lets a principal call a Cloud Run service. */
export const INVOKER_ROLE = "roles/run.invoker";

/**
 * Roles that include permission to invoke Cloud Run services: `roles/run.invoker` and its
 * services-only variant. Granted at project level, either lets its holder call every service in
 * the project, which defeats a per-service grant.
 */
export const INVOKER_ROLES: readonly string[] = [INVOKER_ROLE, "roles/run.servicesInvoker"];
