/**
 * The Cloud Run service component, built directly: what it creates for its arguments, the one
 * grant it makes (to allUsers, only when asked to), and the argument errors it reports before
 * creating anything.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { CloudRunService, type CloudRunServiceArgs } from "../../components/cloudRunService";
import {
  GCP_PROJECT,
  type MockedEngine,
  type Registration,
  TYPES,
  containerOf,
  envOf,
  startMockedEngine,
  valueOf,
} from "../helpers/pulumiMocks";
import { validArgs } from "./cloudRunServiceArgs";

const COMPONENT_TYPE = "cloud-run-private-calls:components:CloudRunService";

async function build(
  overrides: Partial<CloudRunServiceArgs> = {},
): Promise<{ engine: MockedEngine; component: CloudRunService }> {
  const engine = await startMockedEngine();
  const component = new CloudRunService("api", validArgs(overrides));
  await engine.settle();
  return { engine, component };
}

function only(engine: MockedEngine, type: string): Registration {
  const found = engine.ofType(type);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe("a private service", () => {
  let engine: MockedEngine;
  let component: CloudRunService;

  beforeAll(async () => {
    ({ engine, component } = await build());
  });

  test("creates no service account of its own", () => {
    expect(engine.ofType(TYPES.account).map((account) => account.name)).toEqual(["api-account"]);
  });

  test("runs as the account it is given and exposes its e-mail, member and URL", async () => {
    const service = only(engine, TYPES.runService);
    const email = `demo-api@${GCP_PROJECT}.iam.gserviceaccount.com`;
    expect(service.name).toBe("api-service");
    expect(service.inputs.template).toMatchObject({ serviceAccount: email });
    expect(await valueOf(component.serviceAccount.email)).toBe(email);
    expect(await valueOf(component.serviceAccount.member)).toBe(`serviceAccount:${email}`);
    expect(await valueOf(component.uri)).toBe("https://demo-api-abc123xyz-ew.a.run.app");
  });

  test("keeps the invoker IAM check on and grants nothing to anyone", () => {
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(false);
    expect(engine.ofType(TYPES.runServiceMember)).toEqual([]);
  });

  test("passes through name, region, ingress, deletion protection, image, env and sizes", () => {
    const service = only(engine, TYPES.runService);
    expect(service.inputs).toMatchObject({
      name: "demo-api",
      location: "europe-west1",
      ingress: "INGRESS_TRAFFIC_ALL",
      deletionProtection: true,
      template: {
        scaling: { minInstanceCount: 0, maxInstanceCount: 2 },
        maxInstanceRequestConcurrency: 10,
      },
    });
    expect(containerOf(service)).toMatchObject({
      image: "europe-west1-docker.pkg.dev/p/r/api@sha256:0123",
      resources: { limits: { cpu: "1", memory: "512Mi" }, cpuIdle: true },
    });
    expect(envOf(service)).toEqual({ GREETING: "hello" });
  });

  test("keeps the image's CMD when given no args", () => {
    expect(containerOf(only(engine, TYPES.runService)).args).toBeUndefined();
  });

  test("is probed over HTTP on the health path at startup and while it runs", () => {
    const container = containerOf(only(engine, TYPES.runService));
    expect(container.startupProbe).toMatchObject({ httpGet: { path: "/health" } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: "/health" } });
  });
});

describe("options", () => {
  test("invoker-iam-disabled opens the service without any IAM grant", async () => {
    const { engine } = await build({ publicAccess: "invoker-iam-disabled" });
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(true);
    expect(engine.ofType(TYPES.runServiceMember)).toEqual([]);
  });

  test("all-users keeps the IAM check and grants roles/run.invoker to allUsers on this service, replaced with it", async () => {
    const { engine } = await build({ publicAccess: "all-users" });
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(false);
    const grant = only(engine, TYPES.runServiceMember);
    expect(grant.name).toBe("api-public");
    expect(grant.parent).toBe(only(engine, COMPONENT_TYPE).urn);
    expect(grant.inputs).toEqual({
      project: GCP_PROJECT,
      location: "europe-west1",
      name: "demo-api",
      role: "roles/run.invoker",
      member: "allUsers",
    });
    expect(grant.replaceWith).toEqual([service.urn]);
  });

  test("internal ingress, a custom audience and a VPC subnet reach the Cloud Run service", async () => {
    const { engine } = await build({
      ingress: "internal",
      customAudience: "https://api.example.com",
      vpcSubnet: "run-egress",
    });
    expect(only(engine, TYPES.runService).inputs).toMatchObject({
      ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
      customAudiences: ["https://api.example.com"],
      template: {
        vpcAccess: { networkInterfaces: [{ subnetwork: "run-egress" }], egress: "ALL_TRAFFIC" },
      },
    });
  });

  test("the component's dependencies also hold its service and its public grant back", async () => {
    const engine = await startMockedEngine();
    const prerequisite = new gcp.projects.Service("run-api", { service: "run.googleapis.com" });
    new CloudRunService("api", validArgs({ publicAccess: "all-users" }), {
      dependsOn: [prerequisite],
    });
    await engine.settle();
    const prerequisiteUrn = engine.named(TYPES.api, "run-api").urn;
    expect(only(engine, TYPES.runService).dependencies).toContain(prerequisiteUrn);
    expect(only(engine, TYPES.runServiceMember).dependencies).toContain(prerequisiteUrn);
  });
});

describe("a service given container arguments, instance-based billing and an error hook", () => {
  let engine: MockedEngine;

  beforeAll(async () => {
    engine = await startMockedEngine();
    const hook = new pulumi.ErrorHook("test-retry", () => false);
    new CloudRunService(
      "api",
      validArgs({
        containerArgs: ["--no-maglev", "server.js"],
        billing: "instance-based",
        publicAccess: "all-users",
      }),
      { hooks: { onError: [hook] } },
    );
    await engine.settle();
  });

  test("runs the image with those arguments and CPU for the instance's whole lifetime", () => {
    const container = containerOf(only(engine, TYPES.runService));
    expect(container.args).toEqual(["--no-maglev", "server.js"]);
    expect(container.resources).toMatchObject({ cpuIdle: false });
  });

  test("binds the hook to its service and its public grant, which do not inherit it", () => {
    for (const type of [TYPES.runService, TYPES.runServiceMember]) {
      expect(only(engine, type).hooks.onError).toEqual(["test-retry"]);
    }
  });
});

describe("argument errors", () => {
  let engine: MockedEngine;

  beforeAll(async () => {
    engine = await startMockedEngine();
  });

  // The valid components built below register resources; let them finish within the file.
  afterAll(() => engine.settle());

  test.each<[string, Partial<CloudRunServiceArgs>]>([
    ["serviceName", { serviceName: "Demo_API" }],
    ["serviceName", { serviceName: "a".repeat(50) }],
    ["serviceAccount", { serviceAccount: { accountId: "demo-api" } as never }],
    ["healthPath", { healthPath: "health" }],
    ["description", { description: " " }],
    ["env", { env: { "NOT-A-NAME": "x" } }],
    ["env", { env: { PORT: "8080" } }],
    ["containerArgs", { containerArgs: [] }],
    ["containerArgs", { containerArgs: ["--no-maglev", ""] }],
  ])("an invalid %s is reported by name before anything is created", (argument, overrides) => {
    expect(() => new CloudRunService("broken", validArgs(overrides))).toThrow(
      `CloudRunService "broken": args.${argument} `,
    );
  });
});
