/** Valid arguments for a CloudRunService, for tests to start from and change one at a time. */
import type { CloudRunServiceArgs } from "../../components/cloudRunService";

export function validArgs(overrides: Partial<CloudRunServiceArgs> = {}): CloudRunServiceArgs {
  return {
    serviceName: "demo-api",
    serviceAccount: { accountId: "demo-api" },
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
