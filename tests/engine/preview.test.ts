/**
 * What the real engine decides before anything exists: a first preview with the policy pack,
 * a careless edit the pack refuses, and configuration errors that stop the program before any
 * resource is created.
 */
import { allUsersOnTarget } from "./carelessEdits";
import { EngineStack } from "./engineStack";

const ENGINE_TEST_MS = 300_000;

let stack: EngineStack | undefined;
afterEach(async () => {
  await stack?.dispose();
  stack = undefined;
});

test(
  "a first preview with the policy pack passes and plans every resource",
  async () => {
    stack = await EngineStack.create();
    const run = await stack.preview("--policy-pack", "policy");
    expect(run.code).toBe(0);
    expect(run.output).toContain("cloud-run-private-calls@v0.1.0 (local: policy)");
    expect(run.output).toContain("+ 17 to create");
    expect(run.output).toContain("pulumi-nodejs:dynamic/chain:WorkingChain working-chain create");
  },
  ENGINE_TEST_MS,
);

test(
  "the pack refuses, at a first preview, a program that lets allUsers invoke the target",
  async () => {
    stack = await EngineStack.create();
    await stack.edit("index.ts", allUsersOnTarget);
    const run = await stack.preview("--policy-pack", "policy");
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("mandatory");
    expect(run.output).toMatch(/allUsers/);
    expect(await stack.cloud()).toEqual({});
  },
  ENGINE_TEST_MS,
);

test(
  "without gcp:project, up fails before any resource is created and names the key",
  async () => {
    stack = await EngineStack.create({ withoutProject: true });
    const run = await stack.up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("gcp:project");
    expect(await stack.cloud()).toEqual({});
  },
  ENGINE_TEST_MS,
);

test(
  "with a memory Cloud Run does not accept, up fails before any resource is created and names the key",
  async () => {
    stack = await EngineStack.create({ config: { memory: "64Mi" } });
    const run = await stack.up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("memory");
    expect(run.output).toContain("64Mi");
    expect(await stack.cloud()).toEqual({});
  },
  ENGINE_TEST_MS,
);
