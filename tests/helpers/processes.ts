/** Services as real processes, started from the same bundles `npm start` runs. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";

export const DIST = path.join(__dirname, "..", "..", "dist");

export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything the process wrote to stdout so far. */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** The environment a service gets: nothing inherited but what Node needs to run. */
function baseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? "", NODE_ENV: "production" };
}

/** Starts `dist/<bundle>.js` on an ephemeral port and waits for its "listening" line. */
export async function startService(
  bundle: string,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [path.join(DIST, `${bundle}.js`)], {
    env: { ...baseEnv(), PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = once(child, "exit").then(([code]) => {
    running.delete(child);
    return code as number | null;
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${bundle} did not start:\n${stdout}`)),
      10_000,
    );
    const check = () => {
      const match = /listening on port (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off("data", check);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${bundle} exited with ${code} before listening:\n${stdout}`));
    });
  });
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => stdout, exited };
}

/** Runs a bundle that is expected to stop on its own; resolves with its exit code and output. */
export async function runToExit(
  bundle: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(DIST, `${bundle}.js`)], {
    env: { ...baseEnv(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}

/** Kills whatever a test file left running. */
export function killAll(): void {
  for (const child of running) child.kill("SIGKILL");
}
