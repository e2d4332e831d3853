/**
 * The target's own check, end to end on the local stack: real processes, real signed tokens.
 * With the front end's invoker check on (npm start's default) a request that reaches the target
 * process directly must still carry a token the target verifies; with the check off, as Cloud
 * Run with `invokerIamDisabled`, the target alone refuses everyone but the client.
 */
import { type LocalStack, startLocalStack } from "../../local/stack";
import { unsignedToken, withRemovedSignature } from "../helpers/tokens";

type Headers = Record<string, string>;

async function statusOf(url: string, headers: Headers): Promise<number> {
  const response = await fetch(url, { headers });
  await response.text();
  return response.status;
}

/** Tokens as they could reach the target, minted by the stack's own issuer. */
function tokensFor(stack: LocalStack) {
  const { client, target } = stack.services;
  const issue = (email: string, audience = target.url) =>
    stack.issuer.issue({ email, audience, format: "full" });
  const bearer = (token: string) => `Bearer ${token}`;
  return {
    clientToken: () => issue(client.email),
    foreignAudience: () => issue(client.email, "https://another-service.example.run.app"),
    nonClient: () => issue(target.email),
    unsigned: () =>
      unsignedToken({
        iss: "https://accounts.google.com",
        aud: target.url,
        sub: "1",
        email: client.email,
        email_verified: true,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 3600,
      }),
    bearer,
    /** What Cloud Run forwards for the client: the checked header stripped, Authorization signed. */
    asCloudRunForwards: (token: string): Headers => ({
      "x-serverless-authorization": bearer(withRemovedSignature(token)),
      authorization: bearer(token),
    }),
  };
}

describe("npm start's default stack, reached at the target process directly", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ basePort: 0 });
  });
  afterAll(() => stack?.stop());

  const direct = () => stack.services.target.process.url;

  it("refuses a stripped token naming the client with 401", async () => {
    const { clientToken, bearer } = tokensFor(stack);
    const stripped = bearer(withRemovedSignature(await clientToken()));
    expect(
      await statusOf(direct(), { "x-serverless-authorization": stripped, authorization: stripped }),
    ).toBe(401);
  });

  it("refuses an unsigned token naming the client with 401", async () => {
    const { unsigned, bearer } = tokensFor(stack);
    expect(await statusOf(direct(), { authorization: bearer(unsigned()) })).toBe(401);
  });

  it("serves what Cloud Run forwards for the client: stripped X-Serverless-Authorization plus a signed Authorization", async () => {
    const { clientToken, asCloudRunForwards } = tokensFor(stack);
    expect(await statusOf(direct(), asCloudRunForwards(await clientToken()))).toBe(200);
  });
});

describe("the local stack with the front end's invoker check off", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ basePort: 0, invokerIamDisabled: true });
  });
  afterAll(() => stack?.stop());

  const throughFrontEnd = () => stack.services.target.url;

  it("lets a request without a credential through the front end, to be refused by the target with 401", async () => {
    const response = await fetch(throughFrontEnd());
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe("missing_token");
  });

  it.each([
    ["a stripped token naming the client", 401],
    ["an unsigned token naming the client", 401],
    ["a client token for another audience", 401],
    ["a signed token of an account other than the client", 403],
  ] as const)("has the target refuse %s (%i)", async (what, status) => {
    const tokens = tokensFor(stack);
    const token = {
      "a stripped token naming the client": async () =>
        withRemovedSignature(await tokens.clientToken()),
      "an unsigned token naming the client": async () => tokens.unsigned(),
      "a client token for another audience": tokens.foreignAudience,
      "a signed token of an account other than the client": tokens.nonClient,
    }[what];
    const bearer = tokens.bearer(await token());
    expect(
      await statusOf(throughFrontEnd(), {
        "x-serverless-authorization": bearer,
        authorization: bearer,
      }),
    ).toBe(status);
  });

  it("serves the client's own call through the chain, naming the client", async () => {
    const response = await fetch(stack.services.client.url);
    const answer = (await response.json()) as {
      target: { status: number; body: { caller: { email: string }; authMode: string } };
    };
    expect(response.status).toBe(200);
    expect(answer.target.body.caller.email).toBe(stack.services.client.email);
    expect(answer.target.body.authMode).toBe("verify");
  });
});
