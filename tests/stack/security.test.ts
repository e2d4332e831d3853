/**
 * The security shape of the deployed stack, checked on what the program asks the engine for,
 * under every configuration that could plausibly weaken it.
 */
import {
  MODES,
  type Registration,
  type StackRun,
  TYPES,
  accountEmail,
  envOf,
  runStack,
  valueOf,
} from "../helpers/pulumiMocks";
import { securityShapeViolations } from "./securityShape";

/** Configurations that change who can reach what; the shape must hold under each. */
const CONFIGURATIONS: Record<string, Record<string, string>> = {
  defaults: {},
  "public client through an allUsers grant": { publicAccess: "all-users" },
  "custom audience": { customAudience: "https://target.example.com" },
  "internal target ingress": { targetIngress: "internal", clientVpcSubnet: "run-egress" },
  "target trusting Cloud Run's check": { targetAuthMode: "cloud-run" },
  "token in X-Serverless-Authorization": {
    targetAuthMode: "cloud-run",
    tokenHeader: "x-serverless-authorization",
  },
  "deletion protection": { deletionProtection: "true" },
  "another name prefix": { namePrefix: "demo" },
  "a domain-scoped project": { "gcp:project": "example.com:my-project" },
};
const labels = Object.keys(CONFIGURATIONS);

/** Runs as `pulumi up`, and as a first `pulumi preview` under "preview: <label>". */
const runs = new Map<string, StackRun>();

beforeAll(async () => {
  for (const [label, config] of Object.entries(CONFIGURATIONS)) {
    runs.set(label, await runStack(config));
    runs.set(`preview: ${label}`, await runStack(config, undefined, "preview"));
  }
});

function run(label: string): StackRun {
  const found = runs.get(label);
  if (found === undefined) throw new Error(`no run for ${label}`);
  return found;
}

function cloudRunService({ engine }: StackRun, service: "target" | "client"): Registration {
  return engine.named(TYPES.runService, `${service}-service`);
}

describe.each(MODES)("under %s", (mode) => {
  test.each(labels)(
    "the only IAM grant is roles/run.invoker on the target for the client's account, plus allUsers on the client under all-users, and ingress is as configured (%s)",
    (label) => {
      const runLabel = mode === "up" ? label : `preview: ${label}`;
      expect(securityShapeViolations(run(runLabel), CONFIGURATIONS[label]!)).toEqual([]);
    },
  );
});

test.each(labels)(
  "the one grant is non-authoritative and names the target's location (%s)",
  (label) => {
    const target = cloudRunService(run(label), "target");
    const grants = run(label).engine.ofType(TYPES.runServiceMember);
    const onTarget = grants.filter((grant) => grant.inputs.name === target.inputs.name);
    expect(onTarget).toHaveLength(1);
    expect(onTarget[0]!.inputs).toMatchObject({
      role: "roles/run.invoker",
      location: target.inputs.location,
    });
    expect(onTarget[0]!.propertyDependencies.member).toEqual([
      run(label).engine.named(TYPES.account, "client-account").urn,
    ]);
  },
);

test.each(labels)(
  "the target verifies tokens itself unless targetAuthMode is cloud-run, and admits exactly the account the client runs as (%s)",
  async (label) => {
    const target = cloudRunService(run(label), "target");
    const client = cloudRunService(run(label), "client");
    const clientEmail = await valueOf(run(label).outputs.clientServiceAccount!);
    expect(envOf(target).AUTH_MODE).toBe(CONFIGURATIONS[label]!.targetAuthMode ?? "verify");
    expect(envOf(target).ALLOWED_INVOKERS).toBe(clientEmail);
    expect((client.inputs.template as { serviceAccount: string }).serviceAccount).toBe(clientEmail);
  },
);

test.each(labels)(
  "each service runs as its own account, <prefix>-target and <prefix>-client (%s)",
  (label) => {
    const prefix = CONFIGURATIONS[label]!.namePrefix ?? "s2s";
    const { engine } = run(label);
    const targetAccount = engine.named(TYPES.account, "target-account");
    const clientAccount = engine.named(TYPES.account, "client-account");
    expect(targetAccount.inputs.accountId).toBe(`${prefix}-target`);
    expect(clientAccount.inputs.accountId).toBe(`${prefix}-client`);
    expect(engine.ofType(TYPES.account)).toHaveLength(2);
    for (const [service, account] of [
      ["target", targetAccount],
      ["client", clientAccount],
    ] as const) {
      expect(
        (cloudRunService(run(label), service).inputs.template as { serviceAccount: string })
          .serviceAccount,
      ).toBe(accountEmail(account.inputs.accountId as string, engine.project));
    }
  },
);

test("a custom audience is accepted by the target only, and the client asks for it", () => {
  const custom = run("custom audience");
  expect(cloudRunService(custom, "target").inputs.customAudiences).toEqual([
    "https://target.example.com",
  ]);
  expect(cloudRunService(custom, "client").inputs.customAudiences).toBeUndefined();
  expect(envOf(cloudRunService(custom, "client")).TARGET_AUDIENCE).toBe(
    "https://target.example.com",
  );
});
