import { ConfigError, EnvReader, emailList } from "../../../services/shared/env";

function urlError(raw: string): string {
  try {
    new EnvReader({}).url("TARGET_URL", raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
  }
  return "accepted";
}

function listError(entries: string[]): string {
  try {
    emailList("ALLOWED_INVOKERS", entries);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
  }
  return "accepted";
}

describe("a URL setting", () => {
  it.each([
    ["a user and a password", "https://user:password@target.example.run.app"],
    ["a user alone", "https://user@target.example.run.app"],
    ["a password alone", "https://:password@target.example.run.app"],
  ])("is refused with %s in it", (_what, raw) => {
    expect(urlError(raw)).toBe("TARGET_URL must not carry credentials, a query or a fragment");
  });

  it("is accepted without credentials", () => {
    expect(urlError("https://target.example.run.app")).toBe("accepted");
  });
});

describe("an e-mail list setting", () => {
  it.each([
    ["two @", "client@demo@example.com"],
    ["nothing before @", "@demo-project.iam.gserviceaccount.com"],
    ["nothing after @", "client@"],
    ["no @", "client.demo-project.iam.gserviceaccount.com"],
    ["a space", "client @demo-project.iam.gserviceaccount.com"],
    ["a tab", "client@demo\tproject.iam.gserviceaccount.com"],
  ])("refuses an entry with %s", (_what, entry) => {
    expect(listError([entry])).toMatch(/^ALLOWED_INVOKERS must list e-mail addresses/);
  });

  it("lower-cases A to Z only, leaving U+212A KELVIN SIGN as it is", () => {
    expect(
      emailList("ALLOWED_INVOKERS", ["Client@Example.COM", "\u212Aelvin@example.com"]),
    ).toEqual(["client@example.com", "\u212Aelvin@example.com"]);
  });
});
