import { readClientConfig } from "../../../services/client-service/config";
import { ConfigError, EnvReader } from "../../../services/shared/env";

function read(targetUrl: string) {
  return readClientConfig(new EnvReader({ TARGET_URL: targetUrl }));
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

  it("takes the audience from TARGET_URL's origin unless TARGET_AUDIENCE says otherwise", () => {
    expect(read("https://target.example.run.app/").audience).toBe("https://target.example.run.app");
    const custom = readClientConfig(
      new EnvReader({ TARGET_URL: "https://t.example", TARGET_AUDIENCE: "https://custom.example" }),
    );
    expect(custom.audience).toBe("https://custom.example");
  });
});
