/**
 * The APIs the stack calls, enabled by the stack itself. Other workloads in the project may rely
 * on them too, so destroying the stack leaves them enabled.
 */
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";

/** Cloud Run, Artifact Registry (the images) and IAM (the service accounts). */
export const STACK_APIS = [
  "run.googleapis.com",
  "artifactregistry.googleapis.com",
  "iam.googleapis.com",
] as const;

/** Each of STACK_APIS enabled, as a resource named `run-api`, `artifactregistry-api`, `iam-api`. */
export function enableStackApis(opts: pulumi.CustomResourceOptions): gcp.projects.Service[] {
  return STACK_APIS.map((service) => {
    const name = service.replace(".googleapis.com", "-api");
    return new gcp.projects.Service(name, { service, disableOnDestroy: false }, opts);
  });
}
