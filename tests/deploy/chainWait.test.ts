/**
 * The wait that `pulumi up` and `npm run verify -- --wait` run, against the local stack: real
 * processes, real tokens, and a front end whose grant takes effect only after a delay, as
 * Cloud Run's front ends behave while IAM propagates.
 */
import {
  ChainNotReadyError,
  formatDuration,
  observe,
  parseDuration,
  callUntilChainWorks,
} from "../../deploy/chainWait";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../local/stack";
import { TestServers, closedPortUrl } from "../helpers/servers";

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function localStack(options: LocalStackOptions): Promise<LocalStack> {
  stack = await startLocalStack({ basePort: 0, ...options });
  return stack;
}

function endpointsOf({ services }: LocalStack) {
  return { clientUrl: services.client.url, clientAccount: services.client.email };
}

/** Runs the wait, collecting what it reports and how long it took by the wall clock. */
async function timedWait(endpoints: Parameters<typeof callUntilChainWorks>[0], timeoutMs: number) {
  const lines: string[] = [];
  const started = Date.now();
  const outcome = await callUntilChainWorks(endpoints, {
    timeoutMs,
    intervalMs: 500,
    report: (line) => lines.push(line),
  }).then(
    (ready) => ({ ready, error: undefined }),
    (error: unknown) => ({ ready: undefined, error }),
  );
  return { ...outcome, lines, wallMs: Date.now() - started };
}

describe("against the local stack", () => {
  test("succeeds once a delayed grant takes effect, after reporting the 403 it saw meanwhile", async () => {
    const running = await localStack({ grantDelaySeconds: 8 });
    const { ready, error, lines } = await timedWait(endpointsOf(running), 120_000);
    expect(error).toBeUndefined();
    expect(ready?.attempts).toBeGreaterThan(1);
    expect(lines[0]).toContain(`naming ${running.services.client.email}`);
    expect(lines.join("\n")).toContain(
      "502 target_forbidden (the target answered 403); Grant roles/run.invoker on the target to the client's service account",
    );
    expect(lines.at(-1)).toMatch(
      new RegExp(`^The chain works after \\d+s: 200, caller ${running.services.client.email}$`),
    );
  }, 150_000);

  test("when the grant never takes effect, it calls for the whole bound, then fails naming the grant", async () => {
    const running = await localStack({ grantDelaySeconds: 3600 });
    const { error, wallMs } = await timedWait(endpointsOf(running), 4_000);
    expect(error).toBeInstanceOf(ChainNotReadyError);
    expect((error as Error).message).toContain(
      `the client did not answer 200 naming ${running.services.client.email} within 4s`,
    );
    expect((error as Error).message).toContain(
      "last seen: 502 target_forbidden (the target answered 403). Grant roles/run.invoker on the target to the client's service account",
    );
    expect(wallMs).toBeGreaterThanOrEqual(4_000);
  });

  test("a client asking for the wrong audience fails the wait with the audience as the thing to check", async () => {
    const running = await localStack({
      env: { client: { TARGET_AUDIENCE: "https://another-service.example" } },
    });
    const { error } = await timedWait(endpointsOf(running), 2_000);
    expect((error as Error).message).toContain(
      'last seen: 502 target_rejected_token (the target answered 401). The token\'s audience is "https://another-service.example"',
    );
  });

  test("a target that does not answer fails the wait pointing at the services' logs", async () => {
    const running = await localStack({});
    await running.services.target.stop();
    const { error } = await timedWait(endpointsOf(running), 2_000);
    expect((error as Error).message).toContain("(the target answered 503). 5xx means");
    expect((error as Error).message).toContain("logs");
  });
});

test("a client that nobody answers for fails the wait with what the network said", async () => {
  const clientUrl = await closedPortUrl();
  const { error } = await timedWait(
    { clientUrl, clientAccount: "s2s-client@p.iam.gserviceaccount.com" },
    1_000,
  );
  expect((error as Error).message).toContain("last seen: no answer from the client (ECONNREFUSED)");
});

describe("with a virtual clock", () => {
  const servers = new TestServers();
  afterAll(() => servers.closeAll());

  /** A clock that only moves when the wait sleeps. */
  function virtualClock() {
    let now = 0;
    return { now: () => now, sleep: async (ms: number) => void (now += ms) };
  }

  const forbidden = { error: "target_forbidden", targetStatus: 403 };
  const account = "s2s-client@p.iam.gserviceaccount.com";

  test("calls every interval for the whole bound, reporting an unchanged answer every 30 s", async () => {
    const client = await servers.stub((_req, res) => res.status(502).json(forbidden));
    const lines: string[] = [];
    const failure = callUntilChainWorks(
      { clientUrl: client.url, clientAccount: account },
      {
        timeoutMs: 60_000,
        intervalMs: 5_000,
        clock: virtualClock(),
        report: (line) => lines.push(line),
      },
    );
    await expect(failure).rejects.toThrow(`within 1m00s (13 calls)`);
    expect(client.hits()).toBe(13);
    const progress = lines.filter((line) => line.includes("target_forbidden"));
    expect(progress.map((line) => line.trim().split(":")[0])).toEqual([
      "0s of 1m00s",
      "30s of 1m00s",
    ]);
  });

  test("reports a change of answer at once, and ends on the first 200 naming the account", async () => {
    let calls = 0;
    const client = await servers.stub((_req, res) => {
      calls += 1;
      if (calls <= 2) res.status(502).json(forbidden);
      else if (calls === 3)
        res.status(502).json({ error: "target_rejected_token", targetStatus: 401 });
      else res.json({ target: { body: { caller: { email: account } } } });
    });
    const lines: string[] = [];
    const ready = await callUntilChainWorks(
      { clientUrl: client.url, clientAccount: account },
      {
        timeoutMs: 60_000,
        intervalMs: 5_000,
        clock: virtualClock(),
        report: (line) => lines.push(line),
      },
    );
    expect(ready).toEqual({ elapsedMs: 15_000, attempts: 4 });
    expect(lines.slice(1).map((line) => line.trim().split(";")[0])).toEqual([
      "0s of 1m00s: 502 target_forbidden (the target answered 403)",
      "10s of 1m00s: 502 target_rejected_token (the target answered 401)",
      `The chain works after 15s: 200, caller ${account}`,
    ]);
  });
});

describe("reading the client's answer", () => {
  const account = { clientAccount: "s2s-client@p.iam.gserviceaccount.com" };
  const named = (email: string) => JSON.stringify({ target: { body: { caller: { email } } } });

  test("200 naming the client's account is a working chain, whatever the ASCII case", () => {
    expect(observe(200, named("s2s-client@p.iam.gserviceaccount.com"), account).ready).toBe(true);
    expect(observe(200, named("S2S-Client@P.iam.gserviceaccount.com"), account).ready).toBe(true);
  });

  test.each([
    ["a longer account", "s2s-client@p.iam.gserviceaccount.com.example"],
    ["a prefix of it", "s2s-client@p.iam.gserviceaccount.co"],
    ["another account", "s2s-target@p.iam.gserviceaccount.com"],
  ])("200 naming %s is not a working chain", (_, email) => {
    const seen = observe(200, named(email), account);
    expect(seen).toMatchObject({ ready: false, seen: `200, caller ${email}` });
    expect(seen.advice).toContain("s2s-client@p.iam.gserviceaccount.com");
  });

  test("200 without a caller, or with a caller that is not a string, is not a working chain", () => {
    expect(observe(200, "not json", account)).toMatchObject({
      ready: false,
      seen: "200, caller not named",
    });
    expect(
      observe(200, JSON.stringify({ target: { body: { caller: { email: 7 } } } }), account).ready,
    ).toBe(false);
  });

  test("a 401 or 403 the client relays from the target is explained by the client's own hint", () => {
    const hint = "Grant roles/run.invoker on the target to the client's service account.";
    for (const targetStatus of [401, 403]) {
      const body = JSON.stringify({ error: "target_forbidden", hint, targetStatus });
      expect(observe(502, body, account).advice).toBe(hint);
    }
  });

  test("a hint without the target's 401 or 403, or one that is not a string, is not taken as advice", () => {
    const hint = "Grant roles/run.invoker on the target to the client's service account.";
    const withoutStatus = JSON.stringify({ error: "target_forbidden", hint });
    const notText = JSON.stringify({ error: "target_forbidden", hint: 7, targetStatus: 403 });
    expect(observe(403, withoutStatus, account).advice).toContain("unexpected answer");
    expect(observe(502, notText, account).advice).toContain("unexpected answer");
  });

  test("a 404 the client relays from the target points at internal ingress", () => {
    const body = JSON.stringify({ error: "target_error", targetStatus: 404 });
    expect(observe(502, body, account).advice).toContain("targetIngress=internal");
  });
});

describe("durations", () => {
  test.each([
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(["5", "5 min", "-5m", "1.5m", "m", "5d", "5ms"])("%j is not a duration", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  test("are printed in seconds below a minute and in minutes and seconds above", () => {
    expect(formatDuration(45_000)).toBe("45s");
    expect(formatDuration(125_000)).toBe("2m05s");
  });
});
