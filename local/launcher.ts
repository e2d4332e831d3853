/**
 * Starting a service as its own process, from the same bundle the container image ships.
 *
 * The child's environment is built from scratch: PATH, NODE_ENV, the compile cache, the
 * services' allocator setting (services/nodeCommand.ts) and what the stack hands it, nothing
 * else. In particular neither GOOGLE_APPLICATION_CREDENTIALS nor HOME is passed on, because
 * google-auth-library would then prefer the developer's own gcloud credentials over the
 * metadata stand-in, and the local flow would silently stop being the Cloud Run flow.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { HEALTH_PATH } from "../services/wiring";
import { NODE_ENVIRONMENT, NODE_FLAGS } from "../services/nodeCommand";

export interface LaunchRequest {
  name: string;
  /** Runs `dist/<bundle>.js`. */
  bundle: string;
  /** The whole environment of the service; PORT "0" (or none) picks a free port. */
  env: Record<string, string>;
}

export interface LaunchedService {
  name: string;
  port: number;
  url: string;
  pid: number | undefined;
  /** SIGTERM, as Cloud Run stops an instance; SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves with the exit code when the service ends, for whatever reason. */
  exited: Promise<number | null>;
}

/** Starts a service and resolves once it listens. */
export type Launcher = (request: LaunchRequest) => Promise<LaunchedService>;

/** One log line of a service: parsed JSON when it is JSON, raw text otherwise. */
export type LogSink = (service: string, line: LogLine) => void;

export const DIST_DIR = path.join(__dirname, "..", "dist");

/**
 * Node.js's module compile cache for the bundles: a start reads the compiled code a service
 * left there when it last exited (Node.js writes it then, and replaces it once the bundle has
 * changed), as the container image reads the cache its build filled (services/Dockerfile). The
 * benchmark fills it before it measures (services/fillCompileCache.mjs).
 */
export const COMPILE_CACHE_DIR = path.join(DIST_DIR, "compile-cache");

const START_TIMEOUT_MS = 10_000;
/** Often enough that polling adds little to a start-up of a few tens of milliseconds. */
const HEALTH_POLL_MS = 10;

/** One log line of a service: the JSON document it is, or its text. */
export type LogLine = Record<string, unknown> | string;

function parseLine(line: string): LogLine {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === "object" && value !== null) return value as Record<string, unknown>;
  } catch {
    // Not a JSON log line: pass it on as text.
  }
  return line;
}

/** Whether the process `pid` still runs (signal 0 checks without sending anything). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Binds `port` on `host` (0: any free one), then releases it and resolves with the port bound:
 * proof that nothing listens there now. Rejects with the bind's error, EADDRINUSE when taken.
 */
export function probePort(port: number, host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(port, host, () => {
      const bound = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(bound));
    });
  });
}

/**
 * A port nothing listens on now, released for the service to take. Loopback for a local
 * process; all interfaces for one in a container.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return probePort(0, host);
}

/** One GET of `url`, resolving with its status, or 0 when nothing answered within a second. */
function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: 1000, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(0));
  });
}

export interface ReadinessOptions {
  /** Names the service in error messages. */
  name: string;
  /** Resolves when the program ends; waiting stops with an error if it ends first. */
  exited: Promise<number | null>;
  timeoutMs?: number;
  /** The program's last lines, which explain a failed start better than anything else. */
  recentOutput?: () => string;
}

/**
 * Waits until a service answers 200 on its health path, as Cloud Run's startup probe does:
 * the readiness signal is the service's behaviour, not the wording of a log line. Fails if the
 * program ends first or the service stays unready for too long.
 */
export async function waitForHealthy(
  baseUrl: string,
  { name, exited, timeoutMs = START_TIMEOUT_MS, recentOutput = () => "" }: ReadinessOptions,
): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code ?? null));
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(
        `${name} exited with code ${exitCode} before it was ready: ${recentOutput()}`,
      );
    }
    if ((await statusOf(`${baseUrl}${HEALTH_PATH}`)) === 200) return;
    if (performance.now() > deadline) {
      throw new Error(`${name} was not ready within ${timeoutMs} ms: ${recentOutput()}`);
    }
    await delay(HEALTH_POLL_MS);
  }
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<unknown>,
  graceMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Every bundle this process has spawned that has not exited yet. */
const running = new Set<ChildProcess>();
/** Set once `stopEveryBundle` was called: from then on nothing new is spawned. */
let stoppingAll = false;

/**
 * Runs `dist/<bundle>.js` with the services' command line (or other Node.js flags, when the
 * benchmark measures what they change) and nothing in its environment but PATH, NODE_ENV, the
 * compile cache, NODE_ENVIRONMENT and `env` (NODE_DISABLE_COMPILE_CACHE=1 there turns the cache
 * off).
 */
export function spawnBundle(
  bundle: string,
  env: Record<string, string>,
  nodeFlags: readonly string[] = NODE_FLAGS,
) {
  if (stoppingAll) throw new Error(`not starting ${bundle}: everything is being stopped`);
  const child = spawn(process.execPath, [...nodeFlags, path.join(DIST_DIR, `${bundle}.js`)], {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      NODE_COMPILE_CACHE: COMPILE_CACHE_DIR,
      ...NODE_ENVIRONMENT,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/**
 * Stops every bundle this process spawned, including one still starting that no caller has
 * been handed yet, and spawns nothing more: what an interrupted start-up needs, since the
 * processes it started would otherwise outlive it and keep their ports. SIGTERM first, as
 * Cloud Run stops an instance; SIGKILL for any still running after `graceMs`.
 */
export async function stopEveryBundle(graceMs = 10_000): Promise<void> {
  stoppingAll = true;
  await Promise.all([...running].map((child) => stopChild(child, once(child, "exit"), graceMs)));
}

/** A launcher that runs bundles as child processes of this one, started by `spawnBundle`. */
export function processLauncher(
  onLog: LogSink = () => undefined,
  nodeFlags: readonly string[] = NODE_FLAGS,
): Launcher {
  return async ({ name, bundle, env }) => {
    const port = env.PORT === undefined || env.PORT === "0" ? await freePort() : Number(env.PORT);
    const child = spawnBundle(bundle, { ...env, PORT: String(port) }, nodeFlags);
    const exited = once(child, "exit").then(([code]) => code as number | null);
    const recent: string[] = [];
    const read = (raw: string) => {
      if (raw.trim() === "") return;
      const line = parseLine(raw);
      recent.push(typeof line === "string" ? line : String(line.message ?? raw));
      if (recent.length > 3) recent.shift();
      onLog(name, line);
    };
    createInterface({ input: child.stdout }).on("line", read);
    createInterface({ input: child.stderr }).on("line", read);

    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(url, { name, exited, recentOutput: () => recent.join(" | ") }).catch(
      (error: Error) => {
        child.kill("SIGKILL");
        throw error;
      },
    );
    return {
      name,
      port,
      url,
      pid: child.pid,
      stop: (graceMs = 10_000) => stopChild(child, exited, graceMs),
      exited,
    };
  };
}
