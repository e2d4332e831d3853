import { readClientConfig } from "../../../services/client-service/config";
import { ConfigError, EnvReader } from "../../../services/shared/env";

const AUDIENCE = "https://target-abc123-ew.a.run.app";

function read(targetUrl: string) {
  return readClientConfig(new EnvReader({ TARGET_URL: targetUrl, TARGET_AUDIENCE: AUDIENCE }));
}

describe("the client's TARGET_URL", () => {
  it.each([
    "http://127.0.0.1:8081",
    "http://127.1.2.3:8081",
    "http://localhost:8081",
    "http://[::1]:8081",
    "https://target-abc123-ew.a.run.app",
  ])("accepts %s: https anywhere, plain http on loopback", (url) => {
    expect(read(url).targetUrl.href).toBe(new URL(url).href);
  });

  it.each([
    "http://127.evil.example",
    "http://127.0.0.1.evil.example",
    "http://localhost.evil.example",
    "http://evil-localhost",
    "http://localhost.",
    "http://128.0.0.1",
    "http://[::ffff:127.0.0.1]",
    "http://target.example.com",
  ])("refuses plain http to %s, which is not loopback exactly", (url) => {
    expect(() => read(url)).toThrow(ConfigError);
    expect(() => read(url)).toThrow(/must use https unless it points at loopback/);
  });

  it("takes the audience from TARGET_AUDIENCE, even when it is not TARGET_URL", () => {
    const custom = readClientConfig(
      new EnvReader({ TARGET_URL: "https://t.example", TARGET_AUDIENCE: "https://custom.example" }),
    );
    expect(custom.audience).toBe("https://custom.example");
  });

  it("refuses to start without TARGET_AUDIENCE, naming it, rather than guess the audience", () => {
    const reading = () => readClientConfig(new EnvReader({ TARGET_URL: "https://t.example" }));
    expect(reading).toThrow(ConfigError);
    expect(reading).toThrow(/TARGET_AUDIENCE is required/);
  });
});
