/**
 * `pulumi destroy` under the real engine: a clean destroy removes everything the stack made
 * except the APIs (left enabled on purpose), and under deletion protection it refuses before it
 * deletes anything, so the services keep their grant.
 */
import { EngineStack } from "./engineStack";

const ENGINE_TEST_MS = 300_000;

let stack: EngineStack | undefined;
afterEach(async () => {
  await stack?.dispose();
  stack = undefined;
});

async function deployed(config: Record<string, string>): Promise<EngineStack> {
  stack = await EngineStack.create({ config: { waitForChain: "false", ...config } });
  await stack.mustSucceed(["up", "--yes", "--skip-preview"]);
  return stack;
}

const chainKeys = (cloud: Record<string, unknown>) =>
  Object.keys(cloud)
    .filter((key) => key.includes("/services/s2s-"))
    .sort();

test(
  "destroy deletes every resource the stack made, and leaves only the APIs enabled",
  async () => {
    const deployedStack = await deployed({});
    const run = await deployedStack.destroy();
    expect(run.code).toBe(0);
    expect(await deployedStack.resources()).toEqual([]);
    expect(Object.keys(await deployedStack.cloud()).sort()).toEqual([
      "local-project/artifactregistry.googleapis.com",
      "local-project/iam.googleapis.com",
      "local-project/run.googleapis.com",
    ]);
  },
  ENGINE_TEST_MS,
);

test(
  "under deletion protection destroy refuses, and the grant and both services stay in place",
  async () => {
    const deployedStack = await deployed({ deletionProtection: "true" });
    const before = chainKeys(await deployedStack.cloud());
    const inState = (await deployedStack.resources()).map((resource) => resource.urn);
    expect(before).toEqual([
      "projects/local-project/locations/europe-west1/services/s2s-client",
      "projects/local-project/locations/europe-west1/services/s2s-target",
      "projects/local-project/locations/europe-west1/services/s2s-target roles/run.invoker serviceAccount:s2s-client@local-project.iam.gserviceaccount.com",
    ]);
    const run = await deployedStack.destroy();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("protected");
    expect(chainKeys(await deployedStack.cloud())).toEqual(before);
    expect((await deployedStack.resources()).map((resource) => resource.urn)).toEqual(inState);
  },
  ENGINE_TEST_MS,
);

test(
  "after deletion protection is turned off and applied, destroy deletes the services",
  async () => {
    const deployedStack = await deployed({ deletionProtection: "true" });
    await deployedStack.setConfig("deletionProtection", "false");
    await deployedStack.mustSucceed(["up", "--yes", "--skip-preview"]);
    const run = await deployedStack.destroy();
    expect(run.code).toBe(0);
    expect(chainKeys(await deployedStack.cloud())).toEqual([]);
  },
  ENGINE_TEST_MS,
);
