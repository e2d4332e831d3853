/**
 * A chain that does not work fails `pulumi up` with the reason, within waitForChainMinutes, and
 * keeps failing it at every `up` until the chain has worked once: nothing reports success over
 * a chain that never answered. The local stack's services are stopped to break it.
 */
import { type LocalStack, startLocalStack } from "../../local/stack";
import { EngineStack } from "./engineStack";

const ENGINE_TEST_MS = 420_000;

let local: LocalStack | undefined;
let stack: EngineStack | undefined;
afterEach(async () => {
  await stack?.dispose();
  await local?.stop();
  stack = undefined;
  local = undefined;
});

/** A local stack whose grant takes `grantDelaySeconds`, and a program whose URLs are its. */
async function startBoth(grantDelaySeconds = 0): Promise<void> {
  local = await startLocalStack({ basePort: 0, grantDelaySeconds });
  const { client, target } = local.services;
  stack = await EngineStack.create({
    config: { waitForChainMinutes: "1" },
    serviceUrls: { "s2s-client": client.url, "s2s-target": target.url },
  });
}

describe("with the client stopped after a first up", () => {
  beforeEach(() => startBoth());

  test(
    "up fails with what it saw, the next up fails again, and once the client is back an up succeeds",
    async () => {
      await stack!.mustSucceed(["up", "--yes", "--skip-preview"]);
      await stack!.edit("services/client-service/app.ts", (text) => `${text}\n// v2\n`);
      await local!.services.client.stop();

      const failed = await stack!.up();
      expect(failed.code).not.toBe(0);
      expect(failed.output).toMatch(
        /the client did not answer 200 naming s2s-client@local-project\.iam\.gserviceaccount\.com within 1m00s \(\d+ calls\); last seen: no answer from the client \(ECONNREFUSED\)\. .* To deploy without this check: pulumi config set waitForChain false/,
      );

      const again = await stack!.up();
      expect(again.code).not.toBe(0);
      expect(again.output).toContain("last seen: no answer from the client (ECONNREFUSED)");

      await local!.services.client.start();
      const repaired = await stack!.up();
      expect(repaired.code).toBe(0);
      expect(repaired.output).toMatch(/The chain works after \d+s/);
      const settled = await stack!.preview("--expect-no-changes");
      expect(settled.code).toBe(0);
    },
    ENGINE_TEST_MS,
  );
});

describe("with a grant that never reaches the target's front end", () => {
  beforeEach(() => startBoth(3600));

  test(
    "the first up fails naming the grant",
    async () => {
      const run = await stack!.up();
      expect(run.code).not.toBe(0);
      expect(run.output).toContain("last seen: 502 target_forbidden (the target answered 403)");
      expect(run.output).toContain(
        "Grant roles/run.invoker on the target to the client's service account",
      );
      expect(await stack!.named("pulumi-nodejs:dynamic/chain:WorkingChain")).toEqual([]);
    },
    ENGINE_TEST_MS,
  );
});
