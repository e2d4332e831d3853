import { createServiceApp, getOnly } from "../../../services/shared/httpApp";
import { captureLogs } from "../../helpers/logs";
import { TestServers } from "../../helpers/servers";
import type { RunningServer } from "../../../services/shared/lifecycle";

const servers = new TestServers();
const logs = captureLogs("svc");
let server: RunningServer;

beforeAll(async () => {
  server = await servers.serve(
    createServiceApp({
      logger: logs.logger,
      projectId: "demo",
      routes: (app) => {
        getOnly(app, "/", (_req, res) => {
          res.json({ ok: true });
        });
        getOnly(app, "/boom", () => {
          throw new Error("database password is hunter2");
        });
        getOnly(app, "/items/:id", (req, res) => {
          res.json({ id: req.params.id });
        });
      },
    }),
  );
});
afterAll(() => servers.closeAll());

describe("the shared service skeleton", () => {
  it("answers GET /health with 200", async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
  });

  it("answers an unknown path with a JSON 404", async () => {
    const response = await fetch(`${server.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: "not_found" });
  });

  it("answers an unsupported method with 405 and Allow", async () => {
    const response = await fetch(server.url, { method: "DELETE" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, HEAD");
  });

  it("answers 500 without internals when a handler throws, and logs the error", async () => {
    const response = await fetch(`${server.url}/boom`);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).not.toMatch(/hunter2|Error|at /);
    expect(logs.text()).toMatch(/hunter2/);
  });

  it("answers a malformed percent-encoding with 400 and keeps serving", async () => {
    const response = await fetch(`${server.url}/items/%E0%A4%A`);
    expect(response.status).toBe(400);
    expect((await fetch(server.url)).status).toBe(200);
  });

  it("logs each request with its trace and Cloud Logging's httpRequest fields", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await fetch(`${server.url}/?q=1`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    const line = logs
      .entries()
      .find((entry) => entry["logging.googleapis.com/trace"] === `projects/demo/traces/${traceId}`);
    expect(line).toMatchObject({
      severity: "INFO",
      httpRequest: { requestMethod: "GET", requestUrl: "/?q=1", status: 200 },
    });
    expect((line?.httpRequest as { latency: string }).latency).toMatch(/^\d+\.\d{6}s$/);
  });
});
