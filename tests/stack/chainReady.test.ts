/**
 * Where the program attaches the wait for a working chain, and that the grant follows the
 * target: under the mocked engine, from what the program registers. The mocked engine runs no
 * hook, so the hook's own function runs here directly, against the local stack.
 */
import { CHAIN_READY_HOOK, chainReadyHooks } from "../../components/chainReadyHook";
import { type LocalStack, startLocalStack } from "../../local/stack";
import { type StackRun, TYPES, runStack, startMockedEngine } from "../helpers/pulumiMocks";

describe("the program", () => {
  let defaults: StackRun;
  beforeAll(async () => {
    defaults = await runStack();
  });

  const grant = (run: StackRun) =>
    run.engine.named(TYPES.runServiceMember, "target-invoker-client");
  const service = (run: StackRun, name: string) =>
    run.engine.named(TYPES.runService, `${name}-service`);

  test("registers the wait once, as a hook the engine does not run in preview", () => {
    expect(defaults.engine.hooks.resource).toEqual([{ name: CHAIN_READY_HOOK, onDryRun: false }]);
  });

  test("waits after the grant and the client are created or updated, and after the target is updated", () => {
    const both = { afterCreate: [CHAIN_READY_HOOK], afterUpdate: [CHAIN_READY_HOOK] };
    expect(grant(defaults).hooks).toMatchObject(both);
    expect(service(defaults, "client").hooks).toMatchObject(both);
    expect(service(defaults, "target").hooks).toMatchObject({
      afterCreate: [],
      afterUpdate: [CHAIN_READY_HOOK],
    });
  });

  test("attaches the wait to nothing else", () => {
    const hooked = defaults.engine.registrations.filter(
      (registration) =>
        registration.hooks.afterCreate.length > 0 || registration.hooks.afterUpdate.length > 0,
    );
    expect(hooked.map((registration) => registration.name).sort()).toEqual([
      "client-service",
      "target-invoker-client",
      "target-service",
    ]);
  });

  test("replaces the grant whenever the target service is replaced", () => {
    const targetUrn = service(defaults, "target").urn;
    expect(targetUrn).toContain("target-service");
    expect(grant(defaults).replaceWith).toEqual([targetUrn]);
  });

  test("with waitForChain false registers no hook and attaches none, and the grant still follows the target", async () => {
    const off = await runStack({ waitForChain: "false" });
    expect(off.engine.hooks.resource).toEqual([]);
    for (const registration of off.engine.registrations) {
      expect(registration.hooks).toMatchObject({ afterCreate: [], afterUpdate: [] });
    }
    expect(grant(off).replaceWith).toEqual([service(off, "target").urn]);
  });
});

describe("the hook's function, against the local stack", () => {
  let stack: LocalStack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  /** The hook as the program builds it, for the local stack's client. */
  async function hookFor(running: LocalStack, timeoutMs: number) {
    await startMockedEngine();
    const settings = { waitForChain: true, waitForChainMinutes: timeoutMs / 60_000 };
    const { afterCreateOrUpdate } = chainReadyHooks(settings, () => ({
      client: { uri: running.services.client.url },
      clientAccount: { email: running.services.client.email },
    }));
    const [hook] = afterCreateOrUpdate.afterCreate ?? [];
    if (hook === undefined || typeof hook === "function") throw new Error("no named hook");
    return async () =>
      hook.callback({ urn: "urn:grant", id: "grant-id", name: "target-invoker-client", type: "t" });
  }

  test("resolves once a delayed grant takes effect, after the front end refused the client meanwhile", async () => {
    stack = await startLocalStack({ basePort: 0, grantDelaySeconds: 8 });
    const run = await hookFor(stack, 120_000);
    await expect(run()).resolves.toBeUndefined();
    const { stats } = stack.services.target.frontEnd;
    expect(stats.refused).toBeGreaterThan(0);
    expect(stats.forwarded).toBeGreaterThan(0);
  }, 150_000);

  test("fails the deployment with what it saw, what to check and how to turn it off when the grant never takes effect", async () => {
    stack = await startLocalStack({ basePort: 0, grantDelaySeconds: 3600 });
    const run = await hookFor(stack, 3_000);
    const error = (await run().then(
      () => undefined,
      (failure: unknown) => failure,
    )) as Error;
    expect(error.message).toContain("within 3s");
    expect(error.message).toContain("last seen: 502 target_forbidden (the target answered 403)");
    expect(error.message).toContain("403 means the grant");
    expect(error.message).toContain("pulumi config set waitForChain false");
  });

  test("with the wait turned off there is no hook to attach", () => {
    expect(
      chainReadyHooks({ waitForChain: false, waitForChainMinutes: 1 }, () => ({
        client: { uri: "" },
        clientAccount: { email: "" },
      })),
    ).toEqual({
      afterCreateOrUpdate: {},
      afterUpdate: {},
    });
  });
});
