import type { JWK, JWTVerifyGetKey } from "jose";
import {
  GOOGLE_ISSUERS,
  TokenError,
  verifyIdToken,
} from "../../../../services/target-service/verification/idToken";
import {
  KEY_FETCH_COOLDOWN_MS,
  KEY_FETCH_TIMEOUT_MS,
  KeysUnavailableError,
  remoteKeySet,
} from "../../../../services/target-service/verification/remoteKeySet";
import type { Response } from "express";
import { TestServers } from "../../../helpers/servers";
import {
  idTokenClaims,
  newSigningKey,
  signToken,
  type TestSigningKey,
} from "../../../helpers/tokens";
import { fakeClockOnly } from "../../../helpers/clock";

const AUDIENCE = "https://target.example.run.app";
const first = newSigningKey();
const rotated = newSigningKey();
const stranger = newSigningKey();

/** What the publisher serves; each test sets it up, and may change it as it goes. */
interface Publication {
  keys: JWK[];
  cacheControl: string;
  status: number;
  /** Each answer waits for this; a promise that never settles means no answer at all. */
  answerWhen: Promise<void>;
}

/** A promise that settles only when `open()` is called. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const servers = new TestServers();
let publication: Publication;
let publisher: Awaited<ReturnType<TestServers["stub"]>>;
let keys: JWTVerifyGetKey;

beforeEach(async () => {
  // Only the clock is faked, so cooldowns and max-ages can pass without waiting; timers and
  // I/O stay real.
  fakeClockOnly();
  publication = {
    keys: [first.jwk],
    cacheControl: "public, max-age=3600",
    status: 200,
    answerWhen: Promise.resolve(),
  };
  publisher = await servers.stub((_req, res) => {
    const { keys: published, cacheControl, status, answerWhen } = publication;
    void answerWhen.then(() => {
      if (status !== 200) res.status(status).end();
      else res.set("Cache-Control", cacheControl).json({ keys: published });
    });
  });
  // The product's own fetch timeout: long enough that a busy machine never trips it here.
  keys = remoteKeySet({ url: publisher.url });
});
afterEach(async () => {
  jest.useRealTimers();
  await servers.closeAll();
});

function advanceSeconds(seconds: number): void {
  jest.setSystemTime(Date.now() + seconds * 1000);
}

async function verifySignedBy(key: TestSigningKey) {
  const token = await signToken(key, idTokenClaims({ aud: AUDIENCE }));
  return verifyIdToken(token, {
    keys,
    audiences: [AUDIENCE],
    issuers: GOOGLE_ISSUERS,
    clockSkewSeconds: 30,
  });
}

describe("the remote key set", () => {
  it("serves lookups from memory for as long as the publisher's max-age allows", async () => {
    await verifySignedBy(first);
    // Longer than jose's own ten-minute default, shorter than the max-age.
    advanceSeconds(3599);
    await verifySignedBy(first);
    expect(publisher.hits()).toBe(1);
  });

  it("fetches the keys again once a max-age shorter than jose's default has passed", async () => {
    publication.cacheControl = "public, max-age=120";
    await verifySignedBy(first);
    publication.keys = [rotated.jwk, first.jwk];
    advanceSeconds(121);
    await verifySignedBy(first);
    expect(publisher.hits()).toBe(2);
    // The refreshed set already holds the new key: using it costs no further fetch.
    await verifySignedBy(rotated);
    expect(publisher.hits()).toBe(2);
  });

  it("refetches for an unknown key id, at most once per cooldown", async () => {
    await verifySignedBy(first);
    publication.keys = [rotated.jwk, first.jwk];
    advanceSeconds(KEY_FETCH_COOLDOWN_MS / 1000 + 1);
    await verifySignedBy(rotated);
    expect(publisher.hits()).toBe(2);
    // Made-up key ids inside the cooldown cost nothing.
    for (let i = 0; i < 10; i += 1) {
      await expect(verifySignedBy(stranger)).rejects.toThrow("token is signed by an unknown key");
    }
    expect(publisher.hits()).toBe(2);
    advanceSeconds(KEY_FETCH_COOLDOWN_MS / 1000 + 1);
    await expect(verifySignedBy(stranger)).rejects.toThrow(TokenError);
    expect(publisher.hits()).toBe(3);
  });

  it("retries a failed fetch at most once per cooldown, then recovers", async () => {
    publication.status = 503;
    await expect(verifySignedBy(first)).rejects.toThrow(KeysUnavailableError);
    // Lookups every three seconds for 27 s, all inside the cooldown: no further fetch.
    for (let i = 0; i < 9; i += 1) {
      advanceSeconds(3);
      await expect(verifySignedBy(first)).rejects.toThrow(KeysUnavailableError);
    }
    expect(publisher.hits()).toBe(1);
    advanceSeconds(4);
    await expect(verifySignedBy(first)).rejects.toThrow(KeysUnavailableError);
    expect(publisher.hits()).toBe(2);
    publication.status = 200;
    advanceSeconds(KEY_FETCH_COOLDOWN_MS / 1000 + 1);
    await verifySignedBy(first);
    expect(publisher.hits()).toBe(3);
  });

  it("keeps verifying with the keys it holds when a refresh after the max-age fails", async () => {
    publication.cacheControl = "max-age=60";
    await verifySignedBy(first);
    publication.status = 500;
    advanceSeconds(61);
    await verifySignedBy(first);
    expect(publisher.hits()).toBe(2);
  });

  it("makes concurrent lookups of a newly published key wait for one shared refetch", async () => {
    await verifySignedBy(first);
    publication.keys = [rotated.jwk, first.jwk];
    // The refetch is held until the publisher has seen it, so every lookup below is started
    // while it is still in flight, however slow the machine.
    const refetch = gate();
    publication.answerWhen = refetch.opened;
    advanceSeconds(KEY_FETCH_COOLDOWN_MS / 1000 + 1);
    const lookups = Promise.allSettled(Array.from({ length: 20 }, () => verifySignedBy(rotated)));
    await publisher.waitForHits(2);
    refetch.open();
    const results = await lookups;
    expect(results.map((result) => result.status)).toEqual(Array(20).fill("fulfilled"));
    expect(publisher.hits()).toBe(2);
  });

  it("fetches nothing until a token needs a key", async () => {
    remoteKeySet({ url: publisher.url });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(publisher.hits()).toBe(0);
    await verifySignedBy(first);
    expect(publisher.hits()).toBe(1);
  });

  it("does not follow a redirect: the keys are unavailable, and the other location is never asked", async () => {
    const elsewhere = await servers.stub((_req, res) => {
      res.json({ keys: [first.jwk] });
    });
    const redirecting = await servers.stub((_req, res) => {
      res.redirect(302, elsewhere.url);
    });
    keys = remoteKeySet({ url: redirecting.url });
    await expect(verifySignedBy(first)).rejects.toThrow(KeysUnavailableError);
    expect(elsewhere.hits()).toBe(0);
  });

  it.each([
    ["a document that is not a key set", (res: Response) => res.json({ keys: "none" })],
    ["a document that is not JSON", (res: Response) => res.type("text/html").send("<html>")],
  ])("refuses %s: the keys are unavailable", async (_what, answer) => {
    const publishing = await servers.stub((_req, res) => {
      answer(res);
    });
    keys = remoteKeySet({ url: publishing.url });
    await expect(verifySignedBy(first)).rejects.toThrow(KeysUnavailableError);
  });

  it(
    "gives up on a publisher that does not answer within 5 s, and says the keys are unavailable",
    async () => {
      publication.answerWhen = new Promise(() => {});
      keys = remoteKeySet({ url: publisher.url });
      await expect(verifySignedBy(first)).rejects.toThrow(KeysUnavailableError);
    },
    KEY_FETCH_TIMEOUT_MS + 5000,
  );
});
