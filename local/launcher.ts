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
export type LogSink = (service: string, line: Record<string, unknown> | string) => void;

export const DIST_DIR = path.join(__dirname, "..", "dist");

const START_TIMEOUT_MS = 10_000;

function parseLine(line: string): Record<string, unknown> | string {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === "object" && value !== null) return value as Record<string, unknown>;
  } catch {
    // Not a JSON log line: pass it on as text.
  }
  return line;
}

/** Calls `onLine` for every complete line the stream produces. */
function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = "";
  stream.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") onLine(line);
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

/** A launcher that runs bundles from `distDir` as child processes of this one. */
export function processLauncher(onLog: LogSink = () => undefined, distDir = DIST_DIR): Launcher {
  return async ({ name, bundle, env }) => {
    const child = spawn(process.execPath, [path.join(distDir, `${bundle}.js`)], {
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = once(child, "exit").then(([code]) => code as number | null);
    const recent: string[] = [];

    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      const onLine = (raw: string) => {
        const line = parseLine(raw);
        recent.push(typeof line === "string" ? line : String(line.message ?? raw));
        onLog(name, line);
        if (
          typeof line === "object" &&
          typeof line.port === "number" &&
          /listening/.test(String(line.message))
        ) {
          clearTimeout(timer);
          resolve(line.port);
        }
      };
      readLines(child.stdout, onLine);
      readLines(child.stderr, onLine);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(
          new Error(
            `${name} exited with code ${code} before listening: ${recent.slice(-3).join(" | ")}`,
          ),
        );
      });
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
