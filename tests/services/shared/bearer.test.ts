import { bearerFromHeader, bearerFromHeaders } from "../../../services/shared/bearer";

describe("finding the bearer token", () => {
  it("reads Authorization: Bearer, with the scheme in any case", () => {
    expect(bearerFromHeaders({ authorization: "bearer abc.def.ghi" })).toEqual({
      kind: "token",
      header: "authorization",
      token: "abc.def.ghi",
    });
  });

  it("prefers X-Serverless-Authorization", () => {
    expect(
      bearerFromHeaders({
        "x-serverless-authorization": "Bearer one",
        authorization: "Bearer two",
      }),
    ).toMatchObject({ header: "x-serverless-authorization", token: "one" });
  });

  it("reports a missing credential", () => {
    expect(bearerFromHeaders({})).toEqual({ kind: "missing" });
    expect(bearerFromHeaders({ authorization: "   " })).toEqual({ kind: "missing" });
  });

  it.each([
    ["another scheme", "Basic dXNlcjpwYXNz", /Bearer scheme/],
    ["Bearer alone", "Bearer", /no token/],
    ["two tokens", "Bearer a b", /exactly one token/],
  ])("calls %s malformed", (_name, value, reason) => {
    const credential = bearerFromHeaders({ authorization: value });
    expect(credential.kind).toBe("malformed");
    expect(credential.kind === "malformed" && credential.reason).toMatch(reason);
  });
});

describe("what counts as present, by HTTP's own whitespace (space and tab) only", () => {
  it("counts an X-Serverless-Authorization of only U+00A0 NO-BREAK SPACE as present and malformed, without falling back to Authorization", () => {
    const credential = bearerFromHeaders({
      "x-serverless-authorization": "\u00a0",
      authorization: "Bearer two",
    });
    expect(credential).toMatchObject({ kind: "malformed", header: "x-serverless-authorization" });
  });

  it("counts an X-Serverless-Authorization of spaces and tabs as absent", () => {
    expect(
      bearerFromHeaders({ "x-serverless-authorization": " \t ", authorization: "Bearer two" }),
    ).toMatchObject({ kind: "token", header: "authorization", token: "two" });
  });

  it("does not split Bearer from its token at a no-break space", () => {
    expect(bearerFromHeaders({ authorization: "Bearer\u00a0abc.def.ghi" })).toMatchObject({
      kind: "malformed",
      reason: "authorization must use the Bearer scheme",
    });
  });
});

describe("reading one header only", () => {
  it("finds the token in Authorization even when X-Serverless-Authorization holds another", () => {
    expect(
      bearerFromHeader(
        { "x-serverless-authorization": "Bearer one", authorization: "Bearer two" },
        "authorization",
      ),
    ).toEqual({ kind: "token", header: "authorization", token: "two" });
  });

  it("reports the header missing when only the other one is set", () => {
    expect(
      bearerFromHeader({ "x-serverless-authorization": "Bearer one" }, "authorization"),
    ).toEqual({ kind: "missing" });
  });
});
