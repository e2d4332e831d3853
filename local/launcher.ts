/**
 * Starting a service as its own process, from the same bundle the container image ships.
 *
 * The child's environment is built from scratch: PATH and what the stack hands it, nothing
 * else. In particular neither GOOGLE_APPLICATION_CREDENTIALS nor HOME is passed on, because
 * google-auth-library would then prefer the developer's own gcloud credentials over the
 * metadata stand-in, and the local flow would silently stop being the Cloud Run flow.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

export interface LaunchRequest {
  name: string;
  /** Runs `dist/<bundle>.js`. */
  bundle: string;
  /** The whole environment of the service, PORT included (0 picks a free port). */
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

const START_TIMEOUT_MS = 10_000;

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

export interface ListeningOptions {
  /** Names the service in error messages. */
  name: string;
  /** Resolves when the program ends; waiting stops with an error if it ends first. */
  exited: Promise<number | null>;
  timeoutMs?: number;
  /** Sees every line the program writes, on either stream. */
  onLine?: (line: LogLine) => void;
}

/**
 * Waits for a service's start-up line ("… listening on port N", with a numeric `port`) on the
 * output of the program running it, a service process or `docker run`, and resolves with the
 * port. Fails if the program ends first or stays silent for too long.
 */
export function waitForListening(
  output: { stdout: Readable; stderr: Readable },
  { name, exited, timeoutMs = START_TIMEOUT_MS, onLine }: ListeningOptions,
): Promise<number> {
  const recent: string[] = [];
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`${name} did not start within ${timeoutMs} ms: ${recent.join(" | ")}`)),
      timeoutMs,
    );
    const read = (raw: string) => {
      if (raw.trim() === "") return;
      const line = parseLine(raw);
      // The last few lines explain a failed start better than the first ones.
      recent.push(typeof line === "string" ? line : String(line.message ?? raw));
      if (recent.length > 3) recent.shift();
      onLine?.(line);
      if (
        typeof line === "object" &&
        typeof line.port === "number" &&
        /listening/.test(String(line.message))
      ) {
        clearTimeout(timer);
        resolve(line.port);
      }
    };
    createInterface({ input: output.stdout }).on("line", read);
    createInterface({ input: output.stderr }).on("line", read);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening: ${recent.join(" | ")}`));
    });
  });
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

/** Runs `<distDir>/<bundle>.js` with nothing in its environment but PATH and `env`. */
export function spawnBundle(bundle: string, env: Record<string, string>, distDir = DIST_DIR) {
  return spawn(process.execPath, [path.join(distDir, `${bundle}.js`)], {
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A launcher that runs bundles from `distDir` as child processes of this one. */
export function processLauncher(onLog: LogSink = () => undefined, distDir = DIST_DIR): Launcher {
  return async ({ name, bundle, env }) => {
    const child = spawnBundle(bundle, env, distDir);
    const exited = once(child, "exit").then(([code]) => code as number | null);
    const port = await waitForListening(child, {
      name,
      exited,
      onLine: (line) => onLog(name, line),
    }).catch((error: Error) => {
      child.kill("SIGKILL");
      throw error;
    });

    return {
      name,
      port,
      url: `http://127.0.0.1:${port}`,
      pid: child.pid,
      stop: (graceMs = 10_000) => stopChild(child, exited, graceMs),
      exited,
    };
  };
}
