/** Valid arguments for a CloudRunService, for tests to start from and change one at a time. */
import * as gcp from "@pulumi/gcp";
import type { CloudRunServiceArgs } from "../../components/cloudRunService";

let accounts = 0;

/**
 * Valid arguments, with a service account of their own (the caller creates the account the
 * service runs as). Call it only once the mocked engine runs: the account is a resource.
 */
export function validArgs(overrides: Partial<CloudRunServiceArgs> = {}): CloudRunServiceArgs {
  accounts += 1;
  // Each account gets a name of its own: the engine refuses two resources with one URN.
  const name = accounts === 1 ? "api-account" : `api-account-${accounts}`;
  return {
    serviceName: "demo-api",
    serviceAccount:
      overrides.serviceAccount ?? new gcp.serviceaccount.Account(name, { accountId: "demo-api" }),
    description: "An API for the tests",
    region: "europe-west1",
    image: "europe-west1-docker.pkg.dev/p/r/api@sha256:0123",
    healthPath: "/health",
    env: { GREETING: "hello" },
    ingress: "all",
    deletionProtection: true,
    scaling: { minInstances: 0, maxInstances: 2 },
    resources: { cpu: "1", memory: "512Mi", concurrency: 10 },
    billing: "request-based",
    ...overrides,
  };
}
