/**
 * Google Cloud's own spellings that the pack's rules match: resource type tokens, principals,
 * roles, ingress settings and the default compute account's e-mail.
 *
 * The pack keeps its own copy and nothing outside policy/ imports it: the program's components
 * write these values their own way, so that a careless edit of the program (internal ingress
 * mapped to the load-balancer setting, say) cannot change what the pack checks against. It
 * imports nothing, and matches type tokens rather than classes, so the pack starts without the
 * Google Cloud SDK.
 */

export const CLOUD_RUN_V2_SERVICE = "gcp:cloudrunv2/service:Service";
export const CLOUD_RUN_V1_SERVICE = "gcp:cloudrun/service:Service";
export const SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account";

/** Any IAM resource of the Google provider: `…IamMember`, `…IAMBinding`, `…IamPolicy`. */
export const IAM_RESOURCE =
  /^gcp:([a-zA-Z0-9]+)\/[a-zA-Z0-9]+:[a-zA-Z0-9]*?(?:Iam|IAM)(Member|Binding|Policy)$/;

/** Principals that stand for everyone on the internet, with or without a Google account. */
export const PUBLIC_PRINCIPALS: readonly string[] = ["allUsers", "allAuthenticatedUsers"];

/**
 * Roles that include permission to invoke Cloud Run services: `roles/run.invoker` and its
 * services-only variant.
 */
export const INVOKER_ROLES: readonly string[] = ["roles/run.invoker", "roles/run.servicesInvoker"];

/** The e-mail of a project's default compute service account, which holds Editor by default. */
export const DEFAULT_COMPUTE_ACCOUNT = /^\d+-compute@developer\.gserviceaccount\.com$/;

/**
 * The ingress settings the stack offers: reachable from anywhere, or from the project's VPC
 * only. `INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER` is not among them: it also admits external
 * Application Load Balancers, so it is not internal.
 */
export const INGRESS_ALL = "INGRESS_TRAFFIC_ALL";
export const INGRESS_INTERNAL_ONLY = "INGRESS_TRAFFIC_INTERNAL_ONLY";
export const INGRESS_INTERNAL_LOAD_BALANCER = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER";

/** Cloud Run v1's ingress annotation values, by the v2 setting each means. */
export const V1_INGRESS_VALUES: Readonly<Record<string, string>> = {
  all: INGRESS_ALL,
  internal: INGRESS_INTERNAL_ONLY,
  "internal-and-cloud-load-balancing": INGRESS_INTERNAL_LOAD_BALANCER,
};

/** Cloud Run v1 keeps these settings in annotations. */
export const V1_ANNOTATIONS = {
  invokerIamDisabled: "run.googleapis.com/invoker-iam-disabled",
  ingress: "run.googleapis.com/ingress",
  vpcEgress: "run.googleapis.com/vpc-access-egress",
} as const;
