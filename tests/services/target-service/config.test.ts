import { ConfigError, EnvReader } from "../../../services/shared/env";
import { GOOGLE_JWKS_URL, readTargetConfig } from "../../../services/target-service/config";

function read(env: Record<string, string>) {
  return readTargetConfig(new EnvReader(env));
}

function errorOf(env: Record<string, string>): string {
  try {
    read(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("configuration was accepted");
}

describe("the target's configuration", () => {
  it("has no default AUTH_MODE: a target never silently accepts everyone", () => {
    expect(errorOf({})).toMatch(/^AUTH_MODE is required/);
  });

  it("rejects an unknown AUTH_MODE, naming the variable", () => {
    expect(errorOf({ AUTH_MODE: "open" })).toMatch(/^AUTH_MODE must be one of verify, cloud-run /);
  });

  it.each(["none", "None", "off", ""])(
    "has no mode without authentication: refuses AUTH_MODE=%s",
    (mode) => {
      expect(errorOf({ AUTH_MODE: mode })).toMatch(/^AUTH_MODE (is required|must be one of)/);
    },
  );

  it("requires AUDIENCES in verify mode", () => {
    expect(errorOf({ AUTH_MODE: "verify", ALLOWED_INVOKERS: "a@b.c" })).toMatch(
      /^AUDIENCES is required/,
    );
  });

  it("requires ALLOWED_INVOKERS in verify mode", () => {
    expect(errorOf({ AUTH_MODE: "verify", AUDIENCES: "https://t.example" })).toMatch(
      /^ALLOWED_INVOKERS is required/,
    );
  });

  it("refuses JWKS_URL without TOKEN_ISSUER", () => {
    expect(
      errorOf({
        AUTH_MODE: "verify",
        AUDIENCES: "https://t",
        ALLOWED_INVOKERS: "a@b.c",
        JWKS_URL: "http://127.0.0.1:1/certs",
      }),
    ).toMatch(/JWKS_URL and TOKEN_ISSUER go together/);
  });

  it("refuses verify-only settings in cloud-run mode", () => {
    expect(errorOf({ AUTH_MODE: "cloud-run", AUDIENCES: "https://t" })).toMatch(
      /^AUDIENCES only applies when AUTH_MODE=verify/,
    );
  });

  it("refuses to start in cloud-run mode without ALLOWED_INVOKERS, as in verify mode", () => {
    expect(errorOf({ AUTH_MODE: "cloud-run" })).toMatch(/^ALLOWED_INVOKERS is required/);
    expect(errorOf({ AUTH_MODE: "verify", AUDIENCES: "https://t" })).toMatch(
      /^ALLOWED_INVOKERS is required/,
    );
  });

  it("refuses an invoker list entry that is not an e-mail", () => {
    expect(errorOf({ AUTH_MODE: "cloud-run", ALLOWED_INVOKERS: "a@b.c,allUsers" })).toMatch(
      /ALLOWED_INVOKERS must list e-mail addresses.*allUsers/,
    );
  });

  it("refuses a clock skew beyond five minutes", () => {
    expect(
      errorOf({
        AUTH_MODE: "verify",
        AUDIENCES: "https://t",
        ALLOWED_INVOKERS: "a@b.c",
        CLOCK_SKEW_SECONDS: "900",
      }),
    ).toMatch(/^CLOCK_SKEW_SECONDS must be an integer from 0 to 300/);
  });

  it("refuses a PORT that is not a port", () => {
    expect(errorOf({ AUTH_MODE: "cloud-run", ALLOWED_INVOKERS: "a@b.c", PORT: "http" })).toMatch(
      /^PORT must be an integer/,
    );
  });

  it("trusts Google's keys and both issuer spellings by default in verify mode, with a 30 s skew", () => {
    const config = read({
      AUTH_MODE: "verify",
      AUDIENCES: "https://t.example",
      ALLOWED_INVOKERS: "A@B.C",
    });
    expect(config).toMatchObject({
      authMode: "verify",
      port: 8080,
      allowedInvokers: ["a@b.c"],
      verify: {
        audiences: ["https://t.example"],
        jwksUrl: GOOGLE_JWKS_URL,
        issuers: ["https://accounts.google.com", "accounts.google.com"],
        clockSkewSeconds: 30,
      },
    });
  });
});
