/**
 * The benchmark's comparison clients do what their names promise, as the processes the
 * benchmark starts: the unauthenticated baseline fetches and sends no credential at all,
 * google-auth-library's documented pattern fetches one token and sends it on every call, and
 * the seed's pattern asks the metadata server for every request. The load generator, in its own
 * process, reports every answer it got.
 */
import { runLoadProcess } from "../../bench/load";
import { startMetadata, TEST_PROJECT, type TestMetadata } from "../helpers/metadata";
import { startService, stopAll } from "../helpers/processes";
import { TestServers } from "../helpers/servers";

const servers = new TestServers();
let metadata: TestMetadata;
/** The Authorization header of every request the target saw, or "" when there was none. */
let seen: string[];
let targetUrl: string;

beforeEach(async () => {
  seen = [];
  metadata = await startMetadata(servers);
  const target = await servers.stub((req, res) => {
    seen.push(req.get("authorization") ?? "");
    res.json({ message: "hello" });
  });
  targetUrl = `${target.url}/`;
});

afterEach(async () => {
  await stopAll();
  await servers.closeAll();
});

async function startClient(bundle: string) {
  return startService(bundle, {
    HOST: "127.0.0.1",
    GCE_METADATA_HOST: metadata.host,
    GOOGLE_CLOUD_PROJECT: TEST_PROJECT,
    TARGET_URL: targetUrl,
    TARGET_AUDIENCE: targetUrl,
    LOG_LEVEL: "warn",
  });
}

describe("the benchmark's comparison clients", () => {
  it("the unauthenticated baseline fetches no token and sends no credential", async () => {
    const client = await startClient("unauthenticated-client");
    const result = await runLoadProcess({ url: client.url, concurrency: 4, requests: 20 });
    expect(result.statuses).toEqual({ 200: 20 });
    expect(seen).toHaveLength(20);
    expect(seen.filter((header) => header !== "")).toEqual([]);
    expect(metadata.stats.identityTokensIssued).toBe(0);
  });

  it("google-auth-library's documented pattern fetches one token and sends it with every call", async () => {
    const client = await startClient("documented-pattern-client");
    // One request first: the library does not share a fetch between concurrent first calls.
    await runLoadProcess({ url: client.url, concurrency: 1, requests: 1 });
    const result = await runLoadProcess({ url: client.url, concurrency: 4, requests: 20 });
    expect(result.statuses).toEqual({ 200: 20 });
    expect(new Set(seen).size).toBe(1);
    expect(seen[0]).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(metadata.stats.identityTokensIssued).toBe(1);
  });

  it("the seed's pattern asks the metadata server once for every request", async () => {
    const client = await startClient("seed-pattern-client");
    const result = await runLoadProcess({ url: client.url, concurrency: 4, requests: 20 });
    expect(result.statuses).toEqual({ 200: 20 });
    expect(seen.every((header) => header.startsWith("Bearer "))).toBe(true);
    expect(metadata.stats.identityTokensIssued).toBe(20);
  });
});
