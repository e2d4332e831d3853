/**
 * What the front-end stand-in models of Cloud Run besides its checks: a grant that takes effect
 * only some time after it is made (IAM propagation), and internal ingress, which turns away
 * every request from outside the VPC with 404 before any IAM check.
 */
import { type FrontEnd, startFrontEnd } from "../../local/frontEnd";
import { CLIENT_EMAIL, startMetadata, type TestMetadata } from "../helpers/metadata";
import { TestServers } from "../helpers/servers";
import { fakeClockOnly } from "../helpers/clock";

const OUTSIDER = "outsider@demo-project.iam.gserviceaccount.com";

const servers = new TestServers();
let metadata: TestMetadata;
let upstreamUrl: string;

beforeAll(async () => {
  metadata = await startMetadata(servers);
  upstreamUrl = (await servers.stub((_req, res) => res.json({ reached: true }))).url;
});
afterEach(() => jest.useRealTimers());
afterAll(() => servers.closeAll());

/** Starts a front end for the client that stops with the other servers. */
async function frontEndFor(options: { grantDelaySeconds?: number; ingress?: "all" | "internal" }) {
  const started = await startFrontEnd({
    upstream: upstreamUrl,
    jwksUrl: metadata.jwksUrl,
    invokers: [CLIENT_EMAIL],
    ...options,
  });
  servers.adopt(() => started.server.drain(100));
  const internal = started.internal;
  if (internal) servers.adopt(() => internal.server.drain(100));
  return started;
}

/** Calls `url` as `email` would, with a token for the front end's own URL. */
async function callAs(frontEnd: FrontEnd, email: string | undefined, url = frontEnd.url) {
  const headers: Record<string, string> =
    email === undefined
      ? {}
      : {
          authorization: `Bearer ${await metadata.issuer.issue({ email, audience: frontEnd.url, format: "full" })}`,
        };
  const response = await fetch(url, { headers });
  return {
    status: response.status,
    reason: response.headers.get("x-local-front-end-reason"),
    body: await response.text(),
  };
}

describe("a delayed grant", () => {
  test("refuses the invoker with 403 until 60 s after the start, then forwards", async () => {
    fakeClockOnly();
    const started = Date.now();
    const frontEnd = await frontEndFor({ grantDelaySeconds: 60 });
    expect(await callAs(frontEnd, CLIENT_EMAIL)).toMatchObject({
      status: 403,
      reason: `the grant to ${CLIENT_EMAIL} has not reached this front end yet`,
    });
    jest.setSystemTime(started + 59_000);
    expect((await callAs(frontEnd, CLIENT_EMAIL)).status).toBe(403);
    jest.setSystemTime(started + 60_000);
    expect((await callAs(frontEnd, CLIENT_EMAIL)).status).toBe(200);
  });

  test("never admits anyone who is not an invoker, before or after the delay", async () => {
    fakeClockOnly();
    const started = Date.now();
    const frontEnd = await frontEndFor({ grantDelaySeconds: 5 });
    expect((await callAs(frontEnd, OUTSIDER)).status).toBe(403);
    jest.setSystemTime(started + 5_000);
    expect(await callAs(frontEnd, OUTSIDER)).toMatchObject({
      status: 403,
      reason: `${OUTSIDER} does not hold roles/run.invoker`,
    });
  });

  test("without a delay the grant is in effect at once", async () => {
    const frontEnd = await frontEndFor({});
    expect((await callAs(frontEnd, CLIENT_EMAIL)).status).toBe(200);
  });
});

describe("internal ingress", () => {
  test("answers 404 on the target's URL to the invoker too, and to a call without a token", async () => {
    const frontEnd = await frontEndFor({ ingress: "internal" });
    for (const email of [CLIENT_EMAIL, undefined]) {
      const answer = await callAs(frontEnd, email);
      expect(answer.status).toBe(404);
      expect(answer.body).toContain("Error: Page not found");
    }
  });

  test("checks calls through the VPC as usual: the invoker gets through, nobody else", async () => {
    const frontEnd = await frontEndFor({ ingress: "internal" });
    const vpc = frontEnd.internal!.url;
    expect((await callAs(frontEnd, CLIENT_EMAIL, vpc)).status).toBe(200);
    expect((await callAs(frontEnd, OUTSIDER, vpc)).status).toBe(403);
    expect((await callAs(frontEnd, undefined, vpc)).status).toBe(403);
  });

  test("with ingress all there is no way in through a VPC, and the URL checks as usual", async () => {
    const frontEnd = await frontEndFor({});
    expect(frontEnd.internal).toBeUndefined();
    expect((await callAs(frontEnd, undefined)).status).toBe(403);
  });
});
