import { runLoad } from "../../bench/load";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../../local/stack";
import { TokenIssuer } from "../../local/tokenIssuer";

/** Each scenario gets a stack of its own, so one fault cannot leak into the next. */
let running: LocalStack | undefined;
/** A process a scenario paused, to be resumed whatever happens. */
let paused: number | undefined;

async function withStack(
  options: LocalStackOptions,
  scenario: (stack: LocalStack) => Promise<void>,
) {
  running = await startLocalStack({ basePort: 0, ...options });
  await scenario(running);
}

afterEach(async () => {
  if (paused !== undefined) process.kill(paused, "SIGCONT");
  paused = undefined;
  await running?.stop();
  running = undefined;
});

async function status(url: string): Promise<number> {
  const response = await fetch(url);
  await response.arrayBuffer();
  return response.status;
}

describe("the chain under load", () => {
  it("answers 1000 requests from 200 concurrent callers with no error", async () => {
    await withStack({}, async (stack) => {
      const result = await runLoad({
        url: stack.services.client!.url,
        concurrency: 200,
        requests: 1000,
      });
      expect(result.errors).toEqual({});
      expect(result.statuses).toEqual({ 200: 1000 });
      expect(stack.services.client!.metadata.stats.identityTokensIssued).toBe(1);
    });
  });

  it("refreshes expiring tokens during load without a single failed or refused request", async () => {
    // Six-second tokens and a front end that allows no clock skew: an expired token would be
    // refused at once, so zero refusals proves every token was replaced before it expired.
    await withStack(
      { issuer: new TokenIssuer({ lifetimeSeconds: 6 }), frontEndClockSkewSeconds: 0 },
      async (stack) => {
        const result = await runLoad({
          url: stack.services.client!.url,
          concurrency: 20,
          durationMs: 8000,
        });
        expect(result.errors).toEqual({});
        expect(Object.keys(result.statuses)).toEqual(["200"]);
        expect(stack.services.target!.frontEnd!.stats.refused).toBe(0);
        // Eight seconds of six-second tokens needs at least two; refreshing once per token
        // lifetime keeps it to a handful whatever the concurrency.
        const issued = stack.services.client!.metadata.stats.identityTokensIssued;
        expect(issued).toBeGreaterThanOrEqual(2);
        expect(issued).toBeLessThanOrEqual(6);
      },
    );
  });
});

describe("recovery from faults, without restarting the client", () => {
  it("answers 503 while the metadata server is down and 200 once it is back", async () => {
    await withStack({}, async (stack) => {
      const client = stack.services.client!;
      await client.metadata.stop();
      expect(await status(client.url)).toBe(503);
      await client.metadata.start();
      expect(await status(client.url)).toBe(200);
    });
  });

  it("rides out transient metadata-server errors by retrying", async () => {
    await withStack({}, async (stack) => {
      const client = stack.services.client!;
      client.metadata.faults.failIdentityRequests(2, 503);
      expect(await status(client.url)).toBe(200);
      expect(client.metadata.stats.identityTokensIssued).toBe(1);
    });
  });

  it("answers 502 while the target is down and 200 once it is back", async () => {
    await withStack({}, async (stack) => {
      const { client, target } = stack.services;
      expect(await status(client!.url)).toBe(200);
      await target!.stop();
      expect(await status(client!.url)).toBe(502);
      await target!.start();
      expect(await status(client!.url)).toBe(200);
    });
  });

  it("answers 504 while the target hangs and 200 once it answers again", async () => {
    await withStack({ env: { client: { TARGET_TIMEOUT_MS: "5000" } } }, async (stack) => {
      const { client, target } = stack.services;
      expect(await status(client!.url)).toBe(200);
      paused = target!.process.pid!;
      process.kill(paused, "SIGSTOP");
      expect(await status(client!.url)).toBe(504);
      process.kill(paused, "SIGCONT");
      paused = undefined;
      expect(await status(client!.url)).toBe(200);
    });
  });
});

describe("SIGTERM under load", () => {
  it("completes every request the client accepted before it stopped", async () => {
    await withStack({}, async (stack) => {
      const { client, target } = stack.services;
      const forwardedBefore = target!.frontEnd!.stats.forwarded;
      // A new connection per request. Once the client stops listening, new connections are
      // refused, and ones the kernel had queued but the client never read from are reset:
      // neither was accepted. A request the client did accept reaches the target (the front
      // end counts it), so equal counts prove none of those was dropped.
      const load = runLoad({
        url: client!.url,
        concurrency: 50,
        durationMs: 2500,
        keepAlive: false,
      });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      process.kill(client!.process.pid!, "SIGTERM");
      const result = await load;
      expect(await client!.process.exited).toBe(0);

      expect(Object.keys(result.statuses)).toEqual(["200"]);
      const refusedOrReset = ["ECONNREFUSED", "ECONNRESET"];
      expect(Object.keys(result.errors).filter((code) => !refusedOrReset.includes(code))).toEqual(
        [],
      );
      // Every request the client accepted reached the target once and came back with 200.
      expect(result.statuses[200]).toBe(target!.frontEnd!.stats.forwarded - forwardedBefore);
      expect(result.statuses[200]).toBeGreaterThan(0);
    });
  });
});
