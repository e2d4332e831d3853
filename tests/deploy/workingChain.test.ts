/**
 * How the program asks for a working chain, under the mocked engine: from what it registers. The
 * engine's own behaviour (hook order, a failed wait remembered, protection at destroy) is
 * tested under the real engine in tests/engine; the mocked engine runs no hook, so the hook's
 * own function runs here directly, against the local stack.
 */
import { WORKING_CHAIN_HOOK, workingChainHook } from "../../deploy/workingChain";
import { type LocalStack, startLocalStack } from "../../local/stack";
import { type StackRun, TYPES, runStack, startMockedEngine } from "../helpers/pulumiMocks";

const grant = (run: StackRun) => run.engine.named(TYPES.runServiceMember, "target-invoker-client");
const service = (run: StackRun, name: string) =>
  run.engine.named(TYPES.runService, `${name}-service`);
const workingChain = (run: StackRun) => run.engine.named(TYPES.workingChain, "working-chain");

describe("the program", () => {
  let defaults: StackRun;
  beforeAll(async () => {
    defaults = await runStack();
  });

  test("registers the wait once, as a hook the engine does not run in preview", () => {
    expect(defaults.engine.hooks.resource).toEqual([{ name: WORKING_CHAIN_HOOK, onDryRun: false }]);
  });

  test("waits before the working chain is created or updated, and before nothing else", () => {
    expect(workingChain(defaults).hooks).toMatchObject({
      beforeCreate: [WORKING_CHAIN_HOOK],
      beforeUpdate: [WORKING_CHAIN_HOOK],
      afterCreate: [],
      afterUpdate: [],
    });
    const hooked = defaults.engine.registrations.filter((registration) =>
      Object.entries(registration.hooks).some(
        ([kind, names]) => kind !== "onError" && names.length > 0,
      ),
    );
    expect(hooked.map((registration) => registration.name)).toEqual(["working-chain"]);
  });

  test("gives the working chain the client's URL and account, and what the chain is made of", () => {
    const { inputs } = workingChain(defaults);
    expect(inputs).toMatchObject({
      clientUrl: "https://s2s-client-abc123xyz-ew.a.run.app",
      clientAccount: "s2s-client@test-project.iam.gserviceaccount.com",
      target: "uid-of-s2s-target/1",
      client: "uid-of-s2s-client/1",
      grant:
        "target-invoker-client-id/serviceAccount:s2s-client@test-project.iam.gserviceaccount.com",
    });
  });

  test("creates the working chain after both services and the grant", () => {
    const { dependencies } = workingChain(defaults);
    for (const urn of [
      service(defaults, "target").urn,
      service(defaults, "client").urn,
      grant(defaults).urn,
    ]) {
      expect(dependencies).toContain(urn);
    }
  });

  test("replaces the grant whenever the target service is replaced", () => {
    const targetUrn = service(defaults, "target").urn;
    expect(targetUrn).toContain("target-service");
    expect(grant(defaults).replaceWith).toEqual([targetUrn]);
  });

  test("replaces a service by deleting the old one first, as its name cannot be taken twice", () => {
    expect(service(defaults, "target").deleteBeforeReplace).toBe(true);
    expect(service(defaults, "client").deleteBeforeReplace).toBe(true);
  });

  test("without deletion protection, protects nothing from Pulumi", () => {
    expect(defaults.engine.registrations.filter((r) => r.protect).map((r) => r.name)).toEqual([]);
  });

  test("under deletion protection, Pulumi protects both services and the grant, and nothing else", async () => {
    const protectedRun = await runStack({ deletionProtection: "true" });
    const names = protectedRun.engine.registrations.filter((r) => r.protect).map((r) => r.name);
    expect(names.sort()).toEqual(["client-service", "target-invoker-client", "target-service"]);
  });

  test("with waitForChain false registers no hook and no working chain, and the grant still follows the target", async () => {
    const off = await runStack({ waitForChain: "false" });
    expect(off.engine.hooks.resource).toEqual([]);
    expect(off.engine.ofType(TYPES.workingChain)).toEqual([]);
    expect(grant(off).replaceWith).toEqual([service(off, "target").urn]);
  });
});

describe("the hook's function, against the local stack", () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  /** The hook, called as the engine calls it before the working chain is created. */
  async function hookFor(running: LocalStack, waitForChainMinutes: number) {
    await startMockedEngine();
    const hook = workingChainHook({ waitForChainMinutes });
    return async () =>
      hook.callback({
        urn: "urn:pulumi:test::p::pulumi-nodejs:dynamic/chain:WorkingChain::working-chain",
        id: "",
        name: "working-chain",
        type: TYPES.workingChain,
        newInputs: {
          clientUrl: running.services.client.url,
          clientAccount: running.services.client.email,
        },
      });
  }

  test("resolves once a delayed grant takes effect, after the front end refused the client meanwhile", async () => {
    stack = await startLocalStack({ basePort: 0, grantDelaySeconds: 8 });
    const run = await hookFor(stack, 2);
    await expect(run()).resolves.toBeUndefined();
    const { stats } = stack.services.target.frontEnd;
    expect(stats.refused).toBeGreaterThan(0);
    expect(stats.forwarded).toBeGreaterThan(0);
  }, 150_000);

  test("fails the deployment with what it saw, what to check and how to turn it off, in separate sentences", async () => {
    stack = await startLocalStack({ basePort: 0, grantDelaySeconds: 3600 });
    const run = await hookFor(stack, 0.05);
    const error = (await run().then(
      () => undefined,
      (failure: unknown) => failure,
    )) as Error;
    expect(error.message).toContain("within 3s");
    expect(error.message).toContain("last seen: 502 target_forbidden (the target answered 403).");
    expect(error.message).toContain(
      "Grant roles/run.invoker on the target to the client's service account",
    );
    expect(error.message).toMatch(
      /\. To deploy without this check: pulumi config set waitForChain false$/,
    );
  });

  test("refuses to run without the client's URL among the inputs", async () => {
    await startMockedEngine();
    const hook = workingChainHook({ waitForChainMinutes: 1 });
    await expect(
      hook.callback({
        urn: "urn:x",
        id: "",
        name: "working-chain",
        type: TYPES.workingChain,
        newInputs: {},
      }),
    ).rejects.toThrow("the hook was not given the client's URL and account");
  });
});
