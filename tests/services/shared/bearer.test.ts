import { bearerFromHeaders } from "../../../services/shared/bearer";

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
