/**
 * The Cloud Run service component, built directly: what it creates for its arguments, how its
 * invoker grants look, and the argument errors it reports before creating anything.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { buildSync } from "esbuild";
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
    expect(await valueOf(component.serviceAccount.email)).toBe(email);
    expect(await valueOf(component.serviceAccount.member)).toBe(`serviceAccount:${email}`);
    expect(await valueOf(component.uri)).toBe("https://demo-api-abc123xyz-ew.a.run.app");
  });

  test("keeps the invoker IAM check on and grants nothing public", () => {
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(false);
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
  test("invoker-iam-disabled opens the service without any IAM grant", async () => {
    const { engine } = await build(validArgs({ publicAccess: "invoker-iam-disabled" }));
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(true);
    expect(engine.ofType(TYPES.runServiceMember)).toEqual([]);
  });

  test("all-users keeps the IAM check and grants roles/run.invoker to allUsers", async () => {
    const { engine } = await build(validArgs({ publicAccess: "all-users" }));
    const service = only(engine, TYPES.runService);
    expect(service.inputs.invokerIamDisabled).toBe(false);
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

  test("an account created elsewhere is run as, and no other account is created", async () => {
    const engine = await startMockedEngine();
    const account = new gcp.serviceaccount.Account("own-account", { accountId: "own-identity" });
    const component = new CloudRunService("api", validArgs({ serviceAccount: account }));
    await engine.settle();
    expect(engine.ofType(TYPES.account).map((registration) => registration.name)).toEqual([
      "own-account",
    ]);
    expect(component.serviceAccount).toBe(account);
    expect(only(engine, TYPES.runService).inputs.template).toMatchObject({
      serviceAccount: `own-identity@${GCP_PROJECT}.iam.gserviceaccount.com`,
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

describe("a service given container arguments, instance-based billing and an error hook", () => {
  let engine: MockedEngine;

  beforeAll(async () => {
    engine = await startMockedEngine();
    const hook = new pulumi.ErrorHook("test-retry", () => false);
    const component = new CloudRunService(
      "api",
      validArgs({ args: ["--no-maglev", "server.js"], billing: "instance-based" }),
      { hooks: { onError: [hook] } },
    );
    component.grantInvoker("caller", "serviceAccount:caller@p.iam.gserviceaccount.com");
    await engine.settle();
  });

  test("runs the image with those arguments and CPU for the instance's whole lifetime", () => {
    const container = containerOf(only(engine, TYPES.runService));
    expect(container.args).toEqual(["--no-maglev", "server.js"]);
    expect(container.resources).toMatchObject({ cpuIdle: false });
  });

  test("binds the hook to its account, its service and its grants, which do not inherit it", () => {
    for (const type of [TYPES.account, TYPES.runService, TYPES.runServiceMember]) {
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
    ["serviceAccount", { serviceAccount: { accountId: "abc" } }],
    ["serviceAccount", { serviceAccount: { accountId: "Demo_Account" } }],
    ["healthPath", { healthPath: "health" }],
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
    ["billing", { billing: "per-request" as never }],
    ["args", { args: [] }],
    ["args", { args: ["--no-maglev", ""] }],
  ])("an invalid %s is reported by name before anything is created", (argument, overrides) => {
    expect(() => new CloudRunService("broken", validArgs(overrides))).toThrow(
      `CloudRunService "broken": args.${argument} `,
    );
  });

  // Each component has a name of its own: the engine refuses two resources with one URN.
  test.each([
    ["allUsers", "guarded"],
    ["allAuthenticatedUsers", "guarded-too"],
    [" allUsers", "guarded-spaced"],
  ])(
    "grantInvoker refuses the public principal %j given as a string, before creating anything",
    (principal, name) => {
      const component = new CloudRunService(name, validArgs());
      expect(() => component.grantInvoker("everyone", principal)).toThrow(
        `CloudRunService "${name}": grantInvoker's member must name a principal, not "${principal}"`,
      );
    },
  );

  test("grantInvoker refuses a grant name that cannot be part of a resource name", () => {
    const component = new CloudRunService("named", validArgs());
    expect(() => component.grantInvoker("Some Caller", "user:a@example.com")).toThrow(
      `CloudRunService "named": grantInvoker's grantName must be lowercase letters, digits and hyphens`,
    );
  });
});

describe("a principal known only as an output", () => {
  const dir = mkdtempSync(join(__dirname, ".program-"));
  const program = join(dir, "program.js");

  beforeAll(() => {
    buildSync({
      entryPoints: [join(__dirname, "grantToOutputProgram.ts")],
      outfile: program,
      bundle: true,
      platform: "node",
      packages: "external",
      logLevel: "error",
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (member: string) =>
    spawnSync(process.execPath, [program, member], { encoding: "utf8", timeout: 60_000 });

  test.each(["allUsers", "allAuthenticatedUsers"])(
    "is refused when it resolves to %s: the program fails with the guard's message",
    (principal) => {
      const { status, stdout, stderr } = run(principal);
      expect(status).not.toBe(0);
      expect(stderr).toContain(
        `CloudRunService "api": grantInvoker's member must name a principal, not "${principal}"`,
      );
      // Nothing reached the engine: the grant was never registered.
      expect(stdout.trim()).toBe("granted:");
    },
  );

  test("is granted when it resolves to a named principal", () => {
    const member = "serviceAccount:caller@p.iam.gserviceaccount.com";
    const { status, stdout } = run(member);
    expect(status).toBe(0);
    expect(stdout).toContain(`granted: ${member}`);
  });
});
