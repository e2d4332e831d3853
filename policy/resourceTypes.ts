/**
 * The type tokens of the resources the policies read. The policies match tokens rather than the
 * Google Cloud SDK's classes, so the pack starts without loading that SDK.
 */
export const CLOUD_RUN_V2_SERVICE = "gcp:cloudrunv2/service:Service";
export const CLOUD_RUN_V1_SERVICE = "gcp:cloudrun/service:Service";
export const SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account";
