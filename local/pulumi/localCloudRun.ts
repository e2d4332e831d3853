/**
 * The local Cloud Run: runs the services the real Pulumi engine deploys through the gcp
 * stand-in, each from its image's bundle with exactly the args and environment the program
 * set, behind a front-end stand-in that enforces what the stack's state says (its grants,
 * `invokerIamDisabled`, ingress, the audiences Cloud Run accepts), with a metadata stand-in
 * that gives it the identity of its service account. One process per stack, started detached
 * by the gcp stand-in so that it outlives the engine run; it ends when its last service is
 * deleted, or on SIGTERM, stopping every service.
 *
 *   node dist/local-cloud-run.js <stand-ins' folder>
 *
 * The gcp stand-in talks to it over loopback HTTP with a token kept in its record file (0600):
 * PUT /services/<name> deploys (or rolls) a service and answers its URL, DELETE removes it,
 * GET /services lists what runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { mkdir } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { GOOGLE_ISSUERS } from "../../services/target-service/verification/idToken";
import { type FrontEnd, type Grant, startFrontEnd } from "../frontEnd";
import { freePort, waitForHealthy } from "../launcher";
import { type RunningMetadataServer, startMetadataServer } from "../metadataServer";
import { TokenIssuer } from "../tokenIssuer";
import { type LocalServiceSpec, recordFile, revisionOf } from "./localCloudRunSpec";
import { connectedFromAnyOf } from "./socketOwner";

const STOP_GRACE_MS = 10_000;

interface RunningService {
  spec: LocalServiceSpec;
  revision: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  frontEnd: FrontEnd;
}

const home = process.argv[2];
if (home === undefined) {
  console.error("usage: local-cloud-run <stand-ins' folder>");
  process.exit(2);
}
const token = randomBytes(24).toString("hex");
const issuer = new TokenIssuer();
const metadataByAccount = new Map<string, RunningMetadataServer>();
const services = new Map<string, RunningService>();
/** Every service process started and not yet ended, a revision still starting included. */
const children = new Set<ChildProcess>();
/** Set once everything is being stopped: from then on nothing new starts. */
let stopping = false;

/** The metadata stand-in of `account`: one per service account, as on Cloud Run. */
async function metadataFor(project: string, account: string): Promise<RunningMetadataServer> {
  let metadata = metadataByAccount.get(account);
  if (metadata === undefined) {
    metadata = await startMetadataServer({ projectId: project, email: account, issuer });
    metadataByAccount.set(account, metadata);
  }
  return metadata;
}

/** The run.invoker grants on `spec`'s service in the stand-ins' state, read afresh. */
function grantsOn(spec: LocalServiceSpec): Grant[] {
  let cloud: Record<string, { role?: string; member?: string; createdAt?: number; name?: string }>;
  try {
    cloud = JSON.parse(readFileSync(spec.cloudFile, "utf8")) as typeof cloud;
  } catch {
    return [];
  }
  return Object.values(cloud)
    .filter((entry) => entry.role === "roles/run.invoker" && entry.name === spec.name)
    .map((entry) => ({
      // IAM members name their kind: serviceAccount:, user:, group:; allUsers stands alone.
      member: String(entry.member ?? "").replace(/^(serviceAccount|user|group):/, ""),
      inEffectAt: (entry.createdAt ?? 0) + spec.grantDelaySeconds * 1000,
    }));
}

/** The container's command line: its args, with the image's `server.js` being the bundle. */
function commandLine(spec: LocalServiceSpec): string[] {
  return spec.args.map((arg) => (arg === "server.js" ? spec.bundle : arg));
}

async function startProcess(spec: LocalServiceSpec, revision: string) {
  const metadata = await metadataFor(spec.project, spec.serviceAccount);
  const port = await freePort();
  const log = createWriteStream(path.join(home!, "logs", `${spec.name}.log`), { flags: "a" });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    ...spec.env,
    // What Cloud Run sets in every container.
    PORT: String(port),
    K_SERVICE: spec.name,
    K_REVISION: `${spec.name}-${revision}`,
    K_CONFIGURATION: spec.name,
    // What stands in for Google: the metadata server of the service's account, loopback, and
    // (for a target that verifies tokens) the stand-in issuer's keys in place of Google's.
    GCE_METADATA_HOST: metadata.host,
    GOOGLE_CLOUD_PROJECT: spec.project,
    HOST: "127.0.0.1",
    ...(spec.env.AUTH_MODE === "verify" &&
      spec.env.JWKS_URL === undefined && {
        JWKS_URL: metadata.jwksUrl,
        TOKEN_ISSUER: GOOGLE_ISSUERS[0]!,
      }),
  };
  if (stopping) throw new Error("the local Cloud Run is stopping");
  const child = spawn(process.execPath, commandLine(spec), {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  // What it said last, which explains a failed start better than anything else.
  let recent = "";
  const keep = (chunk: Buffer) => (recent = (recent + chunk.toString()).slice(-600));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const url = `http://127.0.0.1:${port}`;
  // The startup probe: the revision takes traffic only once its health path answers 200.
  try {
    await waitForHealthy(url, {
      name: spec.name,
      exited,
      timeoutMs: 30_000,
      recentOutput: () => recent.trim(),
    });
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(
      `Revision '${env.K_REVISION}' is not ready and cannot serve traffic: the container failed its startup probe: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { child, exited, url };
}

async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Deploys a service, or rolls it: the new revision starts, then takes over the front end. */
async function deploy(spec: LocalServiceSpec): Promise<string> {
  const old = services.get(spec.name);
  const revision = revisionOf(spec);
  const started = await startProcess(spec, revision);
  const port = old?.frontEnd.server.port ?? spec.port;
  if (old !== undefined) await old.frontEnd.server.drain(1000);
  const metadata = await metadataFor(spec.project, spec.serviceAccount);
  const frontEnd = await startFrontEnd({
    upstream: started.url,
    jwksUrl: metadata.jwksUrl,
    invokers: () => grantsOn(spec),
    invokerIamDisabled: spec.invokerIamDisabled,
    audiences: spec.audiences,
    ingress: spec.ingress,
    // A call is internal when it leaves a service whose egress goes through the VPC.
    fromVpc: (socket) =>
      connectedFromAnyOf(
        [...services.values()]
          .filter((running) => running.spec.vpcEgress && running.process.pid !== undefined)
          .map((running) => running.process.pid!),
        socket.localPort ?? 0,
        socket.remotePort ?? 0,
      ),
    port,
  });
  services.set(spec.name, {
    spec,
    revision,
    process: started.child,
    exited: started.exited,
    frontEnd,
  });
  if (old !== undefined) await stopProcess(old.process, old.exited);
  return frontEnd.url;
}

async function remove(name: string): Promise<void> {
  const running = services.get(name);
  if (running === undefined) return;
  services.delete(name);
  await running.frontEnd.server.drain(1000);
  await stopProcess(running.process, running.exited);
}

async function stopEverything(): Promise<void> {
  stopping = true;
  for (const name of [...services.keys()]) await remove(name);
  // A revision that was still starting belongs to no service yet.
  for (const child of children) child.kill("SIGKILL");
  for (const metadata of metadataByAccount.values()) await metadata.stop();
  if (readRecordPid() === process.pid) rmSync(recordFile(home!), { force: true });
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => resolve(body));
    request.on("error", reject);
  });
}

const control = http.createServer((request, response) => {
  const answer = (status: number, value: unknown) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(value));
  };
  if (request.headers.authorization !== `Bearer ${token}`) return answer(401, { error: "token" });
  const name = /^\/services\/([a-z][-a-z0-9]*)$/.exec(request.url ?? "")?.[1];
  void (async () => {
    try {
      if (request.method === "GET" && request.url === "/services") {
        return answer(
          200,
          [...services.values()].map(({ spec, revision, process: child, frontEnd }) => ({
            name: spec.name,
            revision,
            url: frontEnd.url,
            pid: child.pid,
            serviceAccount: spec.serviceAccount,
            // Where the service's account gets its ID tokens, for tools that act as it.
            metadata: metadataByAccount.get(spec.serviceAccount)?.url,
          })),
        );
      }
      if (name !== undefined && request.method === "PUT") {
        const spec = JSON.parse(await readBody(request)) as LocalServiceSpec;
        return answer(200, { url: await deploy({ ...spec, name }) });
      }
      if (name !== undefined && request.method === "DELETE") {
        await remove(name);
        answer(200, { removed: name });
        if (services.size === 0) {
          await stopEverything();
          process.exit(0);
        }
        return;
      }
      answer(404, { error: "unknown request" });
    } catch (error) {
      answer(500, { error: (error as Error).message });
    }
  })();
});

async function main(): Promise<void> {
  await mkdir(path.join(home!, "logs"), { recursive: true });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  const { port } = control.address() as { port: number };
  const record = recordFile(home!);
  writeFileSync(
    `${record}.tmp`,
    JSON.stringify({ pid: process.pid, url: `http://127.0.0.1:${port}`, token }),
    {
      mode: 0o600,
    },
  );
  renameSync(`${record}.tmp`, record);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => void stopEverything().then(() => process.exit(0)));
  }
  // Nothing outlives its stack: when the stand-ins' folder is gone (a test removed it), or
  // another local Cloud Run took over the folder before this one ran anything, it ends.
  setInterval(() => {
    const gone = !existsSync(home!);
    const replaced = services.size === 0 && readRecordPid() !== process.pid;
    if (gone || replaced) void stopEverything().then(() => process.exit(0));
  }, 2000).unref();
}

function readRecordPid(): number | undefined {
  try {
    return (JSON.parse(readFileSync(recordFile(home!), "utf8")) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

void main();
