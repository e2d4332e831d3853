import { closedPortUrl, TestServers } from "../../helpers/servers";
import { runToExit, startService, stopAll } from "../../helpers/processes";
import { startMetadata } from "../../helpers/metadata";

const servers = new TestServers();
afterAll(async () => {
  await stopAll();
  await servers.closeAll();
});

describe("a service process", () => {
  it("lets an in-flight request finish with 200 after SIGTERM, refuses new connections, and exits 0", async () => {
    const metadata = await startMetadata(servers);
    let release: () => void = () => undefined;
    const slowTarget = await servers.stub((_req, res) => {
      release = () => res.json({ slow: true });
    });
    const client = await startService("client", {
      TARGET_URL: slowTarget.url,
      TARGET_AUDIENCE: "https://target.local.test",
      GCE_METADATA_HOST: metadata.host,
      GOOGLE_CLOUD_PROJECT: "demo-project",
    });

    const inFlight = fetch(client.url);
    while (slowTarget.hits() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    client.signal("SIGTERM");
    // Waits for the event, however long a busy machine takes to deliver the signal: the test
    // fails by its timeout if the client never stops accepting connections.
    const accepting = () =>
      fetch(`${client.url}/health`, { headers: { Connection: "close" } }).then(
        () => true,
        () => false,
      );
    while (await accepting()) await new Promise((resolve) => setTimeout(resolve, 20));

    await expect(fetch(`${client.url}/health`)).rejects.toThrow();
    release();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ target: { body: { slow: true } } });
    expect(await client.exited).toBe(0);
    expect(client.output()).toMatch(/SIGTERM received/);
  });

  it("exits promptly on SIGTERM when idle, even with a kept-alive connection open", async () => {
    const target = await startService("target", {
      AUTH_MODE: "cloud-run",
      ALLOWED_INVOKERS: "s2s-client@p.iam.gserviceaccount.com",
    });
    const response = await fetch(`${target.url}/health`, { keepalive: true });
    expect(response.status).toBe(200);
    const started = Date.now();
    target.signal("SIGTERM");
    expect(await target.exited).toBe(0);
    // Far below Cloud Run's 10 s: idle keep-alive connections must not hold the exit.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("refuses to start with a message naming the missing variable", async () => {
    const { code, output } = await runToExit("target", {});
    expect(code).toBe(1);
    const line = JSON.parse(output.trim().split("\n").pop()!) as Record<string, string>;
    expect(line.severity).toBe("CRITICAL");
    expect(line.message).toMatch(/AUTH_MODE is required/);
  });

  it("says which port is in use instead of crashing with a stack trace", async () => {
    const busy = await servers.stub((_req, res) => res.end());
    const { code, output } = await runToExit("target", {
      AUTH_MODE: "cloud-run",
      ALLOWED_INVOKERS: "s2s-client@p.iam.gserviceaccount.com",
      PORT: String(busy.port),
    });
    expect(code).toBe(1);
    expect(output).toMatch(new RegExp(`PORT ${busy.port} is already in use`));
    expect(output).not.toMatch(/at .*\.js:\d+/);
  });

  it("refuses a TARGET_URL over plain http to a non-loopback host", async () => {
    const { code, output } = await runToExit("client", { TARGET_URL: "http://target.example.com" });
    expect(code).toBe(1);
    expect(output).toMatch(/TARGET_URL must use https unless it points at loopback/);
  });

  it("answers 503 from the client process when the metadata server is unreachable", async () => {
    const client = await startService("client", {
      TARGET_URL: "https://target.example.com",
      TARGET_AUDIENCE: "https://target.example.com",
      GCE_METADATA_HOST: new URL(await closedPortUrl()).host,
      GOOGLE_CLOUD_PROJECT: "demo-project",
    });
    const response = await fetch(client.url);
    expect(response.status).toBe(503);
    client.signal("SIGTERM");
    expect(await client.exited).toBe(0);
  });
});
