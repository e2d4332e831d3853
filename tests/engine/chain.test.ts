/**
 * `pulumi up` under the real Pulumi engine ends with a working chain: each change that can break
 * it (either service, the grant, a replacement, a new region) is followed by the wait until the
 * client answers 200 naming its own account through the target. The local Cloud Run runs what
 * the program deploys, so the wait calls the services as the program configured them.
 */
import { EngineStack } from "./engineStack";
import { namesThat } from "./runOutput";

const ENGINE_TEST_MS = 300_000;

let stack: EngineStack | undefined;
afterEach(async () => {
  await stack?.dispose();
  stack = undefined;
});

/** A stack deployed once, with the wait on and bounded to one minute. */
async function deployed(): Promise<EngineStack> {
  stack = await EngineStack.create({ config: { waitForChainMinutes: "1" } });
  await stack.mustSucceed(["up", "--yes", "--skip-preview"]);
  return stack;
}

const WORKS =
  /The chain works after \d+s: 200, caller s2s-client@local-project\.iam\.gserviceaccount\.com/;

test(
  "the first up creates every resource and ends once the chain works",
  async () => {
    stack = await EngineStack.create({ config: { waitForChainMinutes: "1" } });
    const run = await stack.up();
    expect(run.code).toBe(0);
    expect(run.output).toMatch(WORKS);
    expect(run.output).toContain("17 created");
    expect(await stack.named("pulumi-nodejs:dynamic/chain:WorkingChain")).toEqual([
      "working-chain",
    ]);
    const running = await stack.localServices();
    expect(running.map((service) => service.name).sort()).toEqual(["s2s-client", "s2s-target"]);
    const url = (name: string) => running.find((service) => service.name === name)?.url;
    expect(await stack.outputs()).toMatchObject({
      clientUrl: url("s2s-client"),
      targetUrl: url("s2s-target"),
    });
  },
  ENGINE_TEST_MS,
);

test(
  "a preview right after a successful up expects no changes",
  async () => {
    const deployedStack = await deployed();
    const run = await deployedStack.preview("--expect-no-changes");
    expect(run.code).toBe(0);
    expect(run.output).toContain("17 unchanged");
  },
  ENGINE_TEST_MS,
);

test.each(["target", "client"])(
  "a change of the %s's code updates that service alone and waits for the chain again",
  async (service) => {
    const deployedStack = await deployed();
    await deployedStack.edit(`services/${service}-service/app.ts`, (text) => `${text}\n// v2\n`);
    const run = await deployedStack.up();
    expect(run.code).toBe(0);
    expect(namesThat(run.output, "updated")).toEqual([
      `${service}-image`,
      `${service}-service`,
      "working-chain",
    ]);
    expect(run.output).toMatch(WORKS);
  },
  ENGINE_TEST_MS,
);

test(
  "a change both services share (their memory) rolls both revisions and waits for the chain again",
  async () => {
    const deployedStack = await deployed();
    await deployedStack.setConfig("memory", "1Gi");
    const run = await deployedStack.up();
    expect(run.code).toBe(0);
    expect(namesThat(run.output, "updated")).toEqual([
      "client-service",
      "target-service",
      "working-chain",
    ]);
    expect(run.output).toMatch(WORKS);
  },
  ENGINE_TEST_MS,
);

test(
  "a new region replaces the registry, both services and the grant, and the chain works there",
  async () => {
    const deployedStack = await deployed();
    await deployedStack.setConfig("gcp:region", "us-central1");
    const run = await deployedStack.up();
    expect(run.code).toBe(0);
    expect(namesThat(run.output, "replaced")).toEqual([
      "client-service",
      "images",
      "target-invoker-client",
      "target-service",
    ]);
    expect(run.output).toMatch(WORKS);
    const services = Object.keys(await deployedStack.cloud()).filter((key) =>
      key.includes("/services/"),
    );
    expect(services.every((key) => key.includes("/locations/us-central1/"))).toBe(true);
  },
  ENGINE_TEST_MS,
);

test(
  "up --replace of the target replaces the grant with it, and the chain works again",
  async () => {
    const deployedStack = await deployed();
    const [targetUrn] = (await deployedStack.resources())
      .filter((resource) => resource.urn.endsWith("::target-service"))
      .map((resource) => resource.urn);
    const run = await deployedStack.up("--replace", targetUrn!);
    expect(run.code).toBe(0);
    expect(namesThat(run.output, "replaced")).toEqual(["target-invoker-client", "target-service"]);
    expect(run.output).toMatch(WORKS);
  },
  ENGINE_TEST_MS,
);
