/**
 * The user's journey offline: the real engine deploys to the local Cloud Run, which runs the
 * services with the program's own wiring, so a careless edit of index.ts fails `pulumi up` with
 * the reason it would fail on Google Cloud. Each edit is made in the test's scratch copy.
 */
import { isRunning } from "../../local/launcher";
import { replaced } from "./carelessEdits";
import { EngineStack } from "./engineStack";

const ENGINE_TEST_MS = 300_000;

let stack: EngineStack | undefined;
afterEach(async () => {
  await stack?.dispose();
  stack = undefined;
});

/** A stack whose index.ts has `from` replaced by `to`, with the wait bounded to one minute. */
async function edited(
  from: string,
  to: string,
  config: Record<string, string> = {},
): Promise<EngineStack> {
  stack = await EngineStack.create({ config: { waitForChainMinutes: "1", ...config } });
  await stack.edit("index.ts", (text) => replaced(text, from, to));
  return stack;
}

async function answer(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.text() };
}

test(
  "after up, the client answers 200 naming its account and the target refuses a call without a token with 403",
  async () => {
    stack = await EngineStack.create({ config: { waitForChainMinutes: "1" } });
    await stack.mustSucceed(["up", "--yes", "--skip-preview"]);
    const { clientUrl, targetUrl } = (await stack.outputs()) as Record<string, string>;
    const client = await answer(clientUrl!);
    expect(client.status).toBe(200);
    expect(JSON.parse(client.body)).toMatchObject({
      target: { body: { caller: { email: "s2s-client@local-project.iam.gserviceaccount.com" } } },
    });
    expect((await answer(targetUrl!)).status).toBe(403);
  },
  ENGINE_TEST_MS,
);

test(
  "destroy stops every service the local Cloud Run ran, and the local Cloud Run itself",
  async () => {
    stack = await EngineStack.create({ config: { waitForChain: "false" } });
    await stack.mustSucceed(["up", "--yes", "--skip-preview"]);
    const pids = (await stack.localServices()).map((service) => service.pid);
    expect(pids).toHaveLength(2);
    await stack.mustSucceed(["destroy", "--yes", "--skip-preview"]);
    await stack.localCloudRunStopped();
    expect(pids.filter(isRunning)).toEqual([]);
  },
  ENGINE_TEST_MS,
);

test(
  "a refresh starts again a service whose local Cloud Run is gone, on the URL it had",
  async () => {
    stack = await EngineStack.create({ config: { waitForChain: "false" } });
    await stack.mustSucceed(["up", "--yes", "--skip-preview"]);
    const { clientUrl } = (await stack.outputs()) as Record<string, string>;
    await stack.stopLocalCloudRun();
    await expect(fetch(clientUrl!)).rejects.toThrow();
    await stack.mustSucceed(["refresh", "--yes", "--skip-preview"]);
    expect((await answer(clientUrl!)).status).toBe(200);
  },
  ENGINE_TEST_MS,
);

test.each([
  ["without the invoker grant", 'role: "roles/run.invoker",', 'role: "roles/run.viewer",'],
  [
    "with the grant given to the target's own account",
    "member: clientAccount.member,",
    "member: targetAccount.member,",
  ],
])(
  "%s, up fails naming 403 and the grant",
  async (_edit, from, to) => {
    const run = await (await edited(from, to)).up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("last seen: 502 target_forbidden (the target answered 403)");
    expect(run.output).toContain(
      "Grant roles/run.invoker on the target to the client's service account",
    );
  },
  ENGINE_TEST_MS,
);

test(
  "with the client asking for tokens of another audience, up fails naming 401 and the audience",
  async () => {
    const run = await (
      await edited(
        "clientEnvironment({ ...envInputs,",
        'clientEnvironment({ ...envInputs, audience: "https://s2s-target.example.com" as pulumi.Input<string>,',
      )
    ).up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("(the target answered 401)");
    expect(run.output).toContain('The token\'s audience is "https://s2s-target.example.com"');
  },
  ENGINE_TEST_MS,
);

test(
  "a verifying target with no allowed invokers fails to start, and up fails with its reason",
  async () => {
    const run = await (await edited("clientEmail: accounts.client.email", 'clientEmail: ""')).up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("is not ready and cannot serve traffic");
    expect(run.output).toContain("ALLOWED_INVOKERS is required");
  },
  ENGINE_TEST_MS,
);

test(
  "a target that trusts Cloud Run with no allowed invokers fails to start too, and up fails with its reason",
  async () => {
    const run = await (
      await edited("clientEmail: accounts.client.email", 'clientEmail: ""', {
        targetAuthMode: "cloud-run",
      })
    ).up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("is not ready and cannot serve traffic");
    expect(run.output).toContain("ALLOWED_INVOKERS is required");
  },
  ENGINE_TEST_MS,
);

test(
  "internal ingress without the client's subnet is refused before any resource exists",
  async () => {
    stack = await EngineStack.create({ config: { targetIngress: "internal" } });
    const run = await stack.up();
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("clientVpcSubnet");
    expect(await stack.cloud()).toEqual({});
  },
  ENGINE_TEST_MS,
);

test(
  "with internal ingress and the client's subnet, the client still reaches the target and a call from outside gets 404",
  async () => {
    stack = await EngineStack.create({
      config: {
        waitForChainMinutes: "1",
        targetIngress: "internal",
        clientVpcSubnet: "projects/local-project/regions/europe-west1/subnetworks/default",
      },
    });
    const run = await stack.up();
    expect(run.code).toBe(0);
    expect(run.output).toMatch(/The chain works after \d+s/);
    const { targetUrl } = (await stack.outputs()) as Record<string, string>;
    expect((await answer(targetUrl!)).status).toBe(404);
  },
  ENGINE_TEST_MS,
);
