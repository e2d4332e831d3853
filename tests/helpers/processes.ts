/** Services as real processes, started by the same launcher `npm start` uses. */
import { once } from "node:events";
import { type LaunchedService, processLauncher, spawnBundle } from "../../local/launcher";

export interface ServiceProcess extends LaunchedService {
  /** Everything the process logged so far, one line each. */
  output(): string;
  signal(signal: NodeJS.Signals): void;
}

const running = new Set<LaunchedService>();

/** Starts `dist/<bundle>.js` on a free port and resolves once it listens. */
export async function startService(
  bundle: string,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const lines: string[] = [];
  const launch = processLauncher((_service, line) => {
    lines.push(typeof line === "string" ? line : JSON.stringify(line));
  });
  const launched = await launch({ name: bundle, bundle, env: { PORT: "0", ...env } });
  running.add(launched);
  void launched.exited.then(() => running.delete(launched));
  return {
    ...launched,
    output: () => lines.join("\n"),
    signal: (signal) => process.kill(launched.pid!, signal),
  };
}

/** Runs a bundle that is expected to stop on its own; resolves with its exit code and output. */
export async function runToExit(
  bundle: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawnBundle(bundle, env);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, output };
}

/** Stops whatever a test file left running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((service) => service.stop(1000)));
}
