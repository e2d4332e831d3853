/**
 * The Cloud Run service component, built directly: what it creates for its arguments, how its
 * invoker grants look, and the argument errors it reports before creating anything.
 */
import * as gcp from "@pulumi/gcp";
import {
  CloudRunService,
  type CloudRunServiceArgs,
  HEALTH_PATH,
} from "../../components/cloudRunService";
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

const COMPONENT_TYPE = "cloud-run-private-calls:components:CloudRunService";

function validArgs(overrides: Partial<CloudRunServiceArgs> = {}): CloudRunServiceArgs {
  return {
    serviceName: "demo-api",
    accountId: "demo-api",
    description: "An API for the tests",
    region: "europe-west1",
    image: "europe-west1-docker.pkg.dev/p/r/api@sha256:0123",
    env: { GREETING: "hello" },
    ingress: "all",
    deletionProtection: true,
    scaling: { minInstances: 0, maxInstances: 2 },
    resources: { cpu: "1", memory: "512Mi", concurrency: 10 },
    ...overrides,
  };
}

async function build(
  args: CloudRunServiceArgs,
  configure?: (component: CloudRunService) => void,
): Promise<{ engine: MockedEngine; component: CloudRunService }> {
  const engine = await startMockedEngine();
  const component = new CloudRunService("api", args);
  configure?.(component);
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
    ({ engine, component } = await build(validArgs(), (built) => {
      built.grantInvoker("caller", "serviceAccount:caller@p.iam.gserviceaccount.com");
    }));
  });

  test("gets a dedicated service account, named after the component and parented to it", () => {
    const parent = only(engine, COMPONENT_TYPE);
    const account = only(engine, TYPES.account);
    expect(account.name).toBe("api-account");
    expect(account.parent).toBe(parent.urn);
    expect(account.inputs).toMatchObject({
      accountId: "demo-api",
      description: "An API for the tests",
    });
  });

  test("runs as that account and exposes its e-mail, member and URL", async () => {
    const service = only(engine, TYPES.runService);
    const email = `demo-api@${GCP_PROJECT}.iam.gserviceaccount.com`;
    expect(service.name).toBe("api-service");
    expect(service.inputs.template).toMatchObject({ serviceAccount: email });
    expect(await valueOf(component.serviceAccountEmail)).toBe(email);
    expect(await valueOf(component.serviceAccountMember)).toBe(`serviceAccount:${email}`);
    expect(await valueOf(component.uri)).toBe("https://demo-api-abc123xyz-ew.a.run.app");
  });

  test("keeps the invoker IAM check on, grants nothing public and says it is private", () => {
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(false);
    expect(service.inputs.labels).toEqual({ "invoker-access": "private" });
    const members = engine.ofType(TYPES.runServiceMember).map((grant) => grant.inputs.member);
    expect(members).not.toContain("allUsers");
    expect(members).not.toContain("allAuthenticatedUsers");
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
      resources: { limits: { cpu: "1", memory: "512Mi" } },
    });
    expect(envOf(service)).toEqual({ GREETING: "hello" });
  });

  test("is probed over HTTP on the health path at startup and while it runs", () => {
    const container = containerOf(only(engine, TYPES.runService));
    expect(container.startupProbe).toMatchObject({ httpGet: { path: HEALTH_PATH } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: HEALTH_PATH } });
  });

  test("grants roles/run.invoker to one member, non-authoritatively, on this service in its location", () => {
    const grant = only(engine, TYPES.runServiceMember);
    expect(grant.name).toBe("api-invoker-caller");
    expect(grant.parent).toBe(only(engine, COMPONENT_TYPE).urn);
    expect(grant.inputs).toEqual({
      project: GCP_PROJECT,
      location: "europe-west1",
      name: "demo-api",
      role: "roles/run.invoker",
      member: "serviceAccount:caller@p.iam.gserviceaccount.com",
    });
  });
});

describe("options", () => {
  test("invoker-iam-disabled opens the service without any IAM grant and labels it public", async () => {
    const { engine } = await build(validArgs({ publicAccess: "invoker-iam-disabled" }));
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(true);
    expect(service.inputs.labels).toEqual({ "invoker-access": "public" });
    expect(engine.ofType(TYPES.runServiceMember)).toEqual([]);
  });

  test("all-users keeps the IAM check and grants roles/run.invoker to allUsers", async () => {
    const { engine } = await build(validArgs({ publicAccess: "all-users" }));
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(false);
    expect(service.inputs.labels).toEqual({ "invoker-access": "public" });
    expect(only(engine, TYPES.runServiceMember).inputs).toMatchObject({
      role: "roles/run.invoker",
      member: "allUsers",
      location: "europe-west1",
    });
  });

  test("internal ingress, custom audiences and a VPC subnet reach the Cloud Run service", async () => {
    const { engine } = await build(
      validArgs({
        ingress: "internal",
        customAudiences: ["https://api.example.com"],
        vpcSubnet: "run-egress",
      }),
    );
    expect(only(engine, TYPES.runService).inputs).toMatchObject({
      ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
      customAudiences: ["https://api.example.com"],
      template: {
        vpcAccess: { networkInterfaces: [{ subnetwork: "run-egress" }], egress: "ALL_TRAFFIC" },
      },
    });
  });

  test("the component's dependencies also hold its account and service back", async () => {
    const engine = await startMockedEngine();
    const prerequisite = new gcp.projects.Service("run-api", { service: "run.googleapis.com" });
    new CloudRunService("api", validArgs(), { dependsOn: [prerequisite] });
    await engine.settle();
    const prerequisiteUrn = engine.named(TYPES.api, "run-api").urn;
    expect(only(engine, TYPES.account).dependencies).toContain(prerequisiteUrn);
    expect(only(engine, TYPES.runService).dependencies).toContain(prerequisiteUrn);
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
    ["accountId", { accountId: "abc" }],
    ["description", { description: " " }],
    ["region", { region: "Europe" }],
    ["env", { env: { "NOT-A-NAME": "x" } }],
    ["env", { env: { PORT: "8080" } }],
    ["ingress", { ingress: "everyone" as never }],
    ["publicAccess", { publicAccess: "anyone" as never }],
    ["customAudiences", { customAudiences: ["two words"] }],
    ["deletionProtection", { deletionProtection: "yes" as never }],
    ["scaling.minInstances", { scaling: { minInstances: -1, maxInstances: 2 } }],
    ["scaling.maxInstances", { scaling: { minInstances: 0, maxInstances: 0 } }],
    ["scaling", { scaling: { minInstances: 3, maxInstances: 2 } }],
    ["resources.cpu", { resources: { cpu: "", memory: "512Mi", concurrency: 10 } }],
    ["resources.memory", { resources: { cpu: "1", memory: "lots", concurrency: 10 } }],
    ["resources.concurrency", { resources: { cpu: "1", memory: "512Mi", concurrency: 0 } }],
    ["vpcSubnet", { vpcSubnet: "" }],
  ])("an invalid %s is reported by name before anything is created", (argument, overrides) => {
    expect(() => new CloudRunService("broken", validArgs(overrides))).toThrow(
      `CloudRunService "broken": args.${argument} `,
    );
  });

  test("grantInvoker refuses public principals, which belong to publicAccess", () => {
    const component = new CloudRunService("guarded", validArgs());
    for (const principal of ["allUsers", "allAuthenticatedUsers"]) {
      expect(() => component.grantInvoker("everyone", principal)).toThrow(
        `CloudRunService "guarded": grantInvoker's member must name a principal, not "${principal}"`,
      );
    }
  });

  test("grantInvoker refuses a grant name that cannot be part of a resource name", () => {
    const component = new CloudRunService("named", validArgs());
    expect(() => component.grantInvoker("Some Caller", "user:a@example.com")).toThrow(
      `CloudRunService "named": grantInvoker's grantName must be lowercase letters, digits and hyphens`,
    );
  });
});
