import { IdTokenCache, TokenUnavailableError } from "../../../services/client-service/idTokenCache";
import { fakeClockOnly } from "../../helpers/clock";

const AUDIENCE = "https://target.example.run.app";

/**
 * A JWT-shaped token for `claims` with a made-up signature: the cache reads the claims and
 * leaves the signature to the target.
 */
function jwtWith(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256" })}.${part(claims)}.sig`;
}

/** A token for the audience that expires at `exp` (seconds). */
function tokenExpiringAt(exp: number, label: string, iat?: number): string {
  return jwtWith({ aud: AUDIENCE, exp, iat, label });
}

// The cache reads the time from the clock, which each test moves by hand.
beforeEach(() => {
  fakeClockOnly();
  jest.setSystemTime(1_000_000_000);
});
afterEach(() => jest.useRealTimers());

/** A cache over a scripted fetcher, keeping what it reports about background refreshes. */
function setup() {
  let fetches = 0;
  const pending: Array<{ resolve: (token: string) => void; reject: (error: Error) => void }> = [];
  const backgroundFailures: TokenUnavailableError[] = [];
  const cache = new IdTokenCache({
    audience: AUDIENCE,
    fetchToken: () =>
      new Promise<string>((resolve, reject) => {
        fetches += 1;
        pending.push({ resolve, reject });
      }),
    onBackgroundFailure: (error) => backgroundFailures.push(error),
  });
  const answer = (label: string, lifetimeSeconds = 3600) => {
    const next = pending.shift()!;
    const iat = Date.now() / 1000;
    next.resolve(tokenExpiringAt(iat + lifetimeSeconds, label, iat));
  };
  const fail = (message: string) => pending.shift()!.reject(new Error(message));
  const answerWith = (body: string) => pending.shift()!.resolve(body);
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  /** A caller that must wait for a fetch, which the metadata server answers with `label`. */
  const fetched = async (label: string, lifetimeSeconds?: number) => {
    const token = cache.get();
    await settle();
    answer(label, lifetimeSeconds);
    return token;
  };
  return {
    cache,
    /** The label of the token a caller gets now. */
    served: async () => labelOf(await cache.get()),
    answer,
    answerWith,
    fetched,
    fail,
    settle,
    backgroundFailures,
    advance: (ms: number) => jest.setSystemTime(Date.now() + ms),
    fetches: () => fetches,
  };
}

/** A cache that has fetched its first token, labelled "first". */
async function withFirstToken(lifetimeSeconds?: number) {
  const t = setup();
  await t.fetched("first", lifetimeSeconds);
  return t;
}

function labelOf(token: string): string {
  return (
    JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { label: string }
  ).label;
}

describe("the ID-token cache", () => {
  it("shares one fetch among concurrent callers", async () => {
    const t = setup();
    const callers = Promise.all(Array.from({ length: 25 }, () => t.cache.get()));
    await t.settle();
    t.answer("first");
    expect((await callers).map(labelOf)).toEqual(Array(25).fill("first"));
    expect(t.fetches()).toBe(1);
  });

  it("serves the cached token without fetching while it is fresh", async () => {
    const t = await withFirstToken();
    t.advance(50 * 60_000);
    expect(await t.served()).toBe("first");
    expect(t.fetches()).toBe(1);
  });

  it("refreshes in the background within five minutes of expiry, still serving the current token", async () => {
    const t = await withFirstToken();
    t.advance(56 * 60_000);
    expect(await t.served()).toBe("first");
    expect(t.fetches()).toBe(2);
    // A second caller during the refresh neither waits nor starts another fetch.
    expect(await t.served()).toBe("first");
    expect(t.fetches()).toBe(2);
    t.answer("second");
    await t.settle();
    expect(await t.served()).toBe("second");
  });

  it("scales its margins down for a short-lived token, using it for most of its life", async () => {
    const t = await withFirstToken(40);
    // A quarter of 40 s before expiry is the refresh point: nothing happens at 29 s...
    t.advance(29_000);
    expect(await t.served()).toBe("first");
    expect(t.fetches()).toBe(1);
    // ...a background refresh starts at 31 s while the token is still served...
    t.advance(2_000);
    expect(await t.served()).toBe("first");
    expect(t.fetches()).toBe(2);
    t.answer("next", 40);
    await t.settle();
    expect(await t.served()).toBe("next");
  });

  it("waits for a new token rather than hand out one about to expire", async () => {
    const t = await withFirstToken();
    t.advance(59 * 60_000 + 40_000);
    expect(labelOf(await t.fetched("second"))).toBe("second");
    expect(t.fetches()).toBe(2);
  });

  it("fetches anew after the current token is invalidated", async () => {
    const t = setup();
    t.cache.invalidate(await t.fetched("first"));
    expect(labelOf(await t.fetched("second"))).toBe("second");
    expect(t.fetches()).toBe(2);
  });

  it("ignores the invalidation of a token that was already replaced", async () => {
    const t = setup();
    const stale = await t.fetched("first");
    t.cache.invalidate(stale);
    await t.fetched("second");
    t.cache.invalidate(stale);
    expect(await t.served()).toBe("second");
    expect(t.fetches()).toBe(2);
  });

  it("reports a failed fetch as TokenUnavailableError and does not keep the failure", async () => {
    const t = setup();
    const first = t.cache.get();
    await t.settle();
    t.fail("metadata server unreachable");
    await expect(first).rejects.toBeInstanceOf(TokenUnavailableError);
    expect(labelOf(await t.fetched("recovered"))).toBe("recovered");
  });

  it.each([
    ["an HTML page", () => "<html><body>Service Unavailable</body></html>"],
    ["garbage", () => "not.a.token"],
    ["an empty answer", () => ""],
    [
      "a token for another audience",
      (now: number) => jwtWith({ aud: "https://elsewhere.example", exp: now / 1000 + 3600 }),
    ],
    [
      "a token for an audience extending the configured one",
      (now: number) => jwtWith({ aud: `${AUDIENCE}.evil.example`, exp: now / 1000 + 3600 }),
    ],
    [
      "a token for an audience the configured one extends",
      (now: number) => jwtWith({ aud: AUDIENCE.slice(0, -1), exp: now / 1000 + 3600 }),
    ],
    [
      "a token naming several audiences",
      (now: number) =>
        jwtWith({ aud: [AUDIENCE, "https://elsewhere.example"], exp: now / 1000 + 3600 }),
    ],
    ["a token without an expiry", () => jwtWith({ aud: AUDIENCE })],
    [
      "a token whose expiry is a string",
      (now: number) => jwtWith({ aud: AUDIENCE, exp: String(now / 1000 + 3600) }),
    ],
    ["an expired token", (now: number) => jwtWith({ aud: AUDIENCE, exp: now / 1000 - 1 })],
  ])("refuses %s from the metadata server and keeps nothing", async (_what, body) => {
    const t = setup();
    const first = t.cache.get();
    await t.settle();
    t.answerWith(body(Date.now()));
    const error = await first.catch((reason: unknown) => reason);
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).unusable).toBe(true);
    // Nothing was kept: once the one-second backoff has passed, the next caller waits for a
    // new fetch, which may then succeed.
    t.advance(1_000);
    expect(labelOf(await t.fetched("good"))).toBe("good");
    expect(t.fetches()).toBe(2);
  });

  it("never quotes what the metadata server answered in its error", async () => {
    const t = setup();
    const first = t.cache.get();
    await t.settle();
    const wrong = jwtWith({ aud: "https://elsewhere.example", exp: Date.now() / 1000 + 3600 });
    t.answerWith(wrong);
    const error = (await first.catch((reason: unknown) => reason)) as Error;
    for (const part of wrong.split(".")) expect(error.message).not.toContain(part);
    expect(error.message).not.toContain("elsewhere");
  });
});

describe("the ID-token cache after failures", () => {
  it("reports a failed background refresh once, however many requests were served meanwhile", async () => {
    const t = await withFirstToken();
    // 56 minutes in, within the last five minutes of the hour: a background refresh is due.
    t.advance(56 * 60_000);
    const served = await Promise.all(Array.from({ length: 50 }, () => t.cache.get()));
    expect(served.map(labelOf)).toEqual(Array(50).fill("first"));
    expect(t.fetches()).toBe(2);
    t.fail("metadata server unreachable");
    await t.settle();
    await t.settle();
    expect(t.backgroundFailures.map((error) => error.message)).toEqual([
      "metadata server unreachable",
    ]);
  });

  it("waits 1 s, then 2 s, before asking again after unusable answers, and fails fast meanwhile", async () => {
    const t = setup();
    const unusable = async () => {
      const attempt = t.cache.get();
      await t.settle();
      t.answerWith("<html>not a token</html>");
      await expect(attempt).rejects.toMatchObject({ unusable: true });
    };
    await unusable();
    t.advance(999);
    await expect(t.cache.get()).rejects.toMatchObject({ unusable: true });
    expect(t.fetches()).toBe(1);
    t.advance(1);
    await unusable();
    expect(t.fetches()).toBe(2);
    t.advance(1_999);
    await expect(t.cache.get()).rejects.toMatchObject({ unusable: true });
    expect(t.fetches()).toBe(2);
    t.advance(1);
    expect(labelOf(await t.fetched("good"))).toBe("good");
    expect(t.fetches()).toBe(3);
  });

  it("waits at most 30 s between attempts however many answers were unusable", async () => {
    const t = setup();
    // Unusable answers 1 to 6, after waits of 1, 2, 4, 8 and 16 s.
    for (const waitMs of [0, 1_000, 2_000, 4_000, 8_000, 16_000]) {
      t.advance(waitMs);
      const attempt = t.cache.get();
      await t.settle();
      t.answerWith("garbage");
      await expect(attempt).rejects.toBeInstanceOf(TokenUnavailableError);
    }
    expect(t.fetches()).toBe(6);
    t.advance(29_999);
    await expect(t.cache.get()).rejects.toBeInstanceOf(TokenUnavailableError);
    expect(t.fetches()).toBe(6);
    t.advance(1);
    void t.cache.get().catch(() => undefined);
    await t.settle();
    expect(t.fetches()).toBe(7);
    t.answer("good");
  });

  it("starts again from a 1 s wait after a good token: unusable, good, then unusable again", async () => {
    const t = setup();
    const unusable = async () => {
      const attempt = t.cache.get();
      await t.settle();
      t.answerWith("garbage");
      await expect(attempt).rejects.toMatchObject({ unusable: true });
    };
    await unusable();
    t.advance(1_000);
    t.cache.invalidate(await t.fetched("good"));
    await unusable();
    expect(t.fetches()).toBe(3);
    // A wait of 1 s, not the 2 s that would follow two unusable answers in a row.
    t.advance(1_000);
    void t.cache.get().catch(() => undefined);
    await t.settle();
    expect(t.fetches()).toBe(4);
    t.answer("recovered");
  });

  it("does not ask again during the backoff when a background refresh got an unusable answer", async () => {
    const t = await withFirstToken();
    // 56 minutes in: each request is served the current token and may start a refresh.
    t.advance(56 * 60_000);
    expect(await t.served()).toBe("first");
    expect(t.fetches()).toBe(2);
    t.answerWith("<html>not a token</html>");
    await t.settle();
    expect(t.backgroundFailures.map((error) => error.unusable)).toEqual([true]);
    // Requests within the next second are served the current token without another fetch.
    for (let i = 0; i < 5; i += 1) expect(await t.served()).toBe("first");
    t.advance(999);
    expect(await t.served()).toBe("first");
    await t.settle();
    expect(t.fetches()).toBe(2);
    // Once the second has passed, the next request starts a refresh again.
    t.advance(1);
    expect(await t.served()).toBe("first");
    expect(t.fetches()).toBe(3);
    t.answer("second");
    await t.settle();
    expect(await t.served()).toBe("second");
  });

  it("asks again at once after the metadata server could not be reached", async () => {
    const t = setup();
    const attempt = t.cache.get();
    await t.settle();
    t.fail("connect ECONNREFUSED");
    await expect(attempt).rejects.toMatchObject({ unusable: false });
    expect(labelOf(await t.fetched("good"))).toBe("good");
    expect(t.fetches()).toBe(2);
  });
});

describe("a token fetch that never answers", () => {
  it("is given up after 5 s (5 000 ms)", async () => {
    // The fetch's timer too, this once: the test moves it past the timeout without waiting.
    jest.useFakeTimers({ doNotFake: ["setImmediate", "nextTick", "queueMicrotask"] });
    const { cache } = setup();
    let outcome: unknown;
    void cache.get().catch((error: unknown) => (outcome = error));
    await jest.advanceTimersByTimeAsync(4_999);
    expect(outcome).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(outcome).toBeInstanceOf(TokenUnavailableError);
    expect((outcome as Error).message).toBe("no answer within 5000 ms");
  });
});
