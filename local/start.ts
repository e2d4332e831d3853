/**
 * `npm start`: the whole product on loopback in one command.
 *
 *   npm start                 client on 8080, target (behind its front end) on 8081
 *   npm start -- --port 9000  the same from port 9000
 *
 * Service logs are printed one line each; Ctrl-C (or SIGTERM) stops every process started.
 */
import { banner } from "./banner";
import type { LogSink } from "./launcher";
import { processLauncher, stopEveryBundle } from "./launcher";
import { basePortProblem, type LocalStack, startLocalStack } from "./stack";

const USAGE =
  "usage: npm start [-- --port <client's port, default 8080; the target's is the next; 0 picks free ports>]";

/** The one option `npm start` takes; anything else is refused rather than ignored. */
function parsePort(argv: string[]): number {
  if (argv.length === 0) return 8080;
  const [flag, raw = "", ...rest] = argv;
  const unknown = flag === "--port" ? rest[0] : flag;
  if (unknown !== undefined) throw new Error(`unknown argument "${unknown}"\n${USAGE}`);
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    throw new Error(`--port must be a port number (got "${raw}")\n${USAGE}`);
  }
  const problem = basePortProblem(port);
  if (problem !== undefined) throw new Error(`--port ${port}: ${problem}\n${USAGE}`);
  return port;
}

/** A service's JSON log line, shortened to what a person watching the terminal wants. */
const printLog: LogSink = (service, line) => {
  const text =
    typeof line === "string"
      ? line
      : `${String(line.severity ?? "").padEnd(8)} ${String(line.message ?? "")}`;
  process.stdout.write(`${service.padEnd(8)} | ${text}\n`);
};

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    console.log(USAGE);
    return;
  }
  // Installed before anything starts: a signal during start-up must stop what has started so
  // far, or those processes would outlive this one and keep their ports.
  let stack: LocalStack | undefined = undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping every service and stand-in…\n`);
    const stopped = stack === undefined ? stopEveryBundle() : stack.stop();
    void stopped.then(() => {
      process.stdout.write("Stopped.\n");
      process.exit(stack === undefined ? 130 : 0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  const started = await startLocalStack({
    basePort: parsePort(process.argv.slice(2)),
    launch: processLauncher(printLog),
  }).catch((error: Error) => {
    // A start-up cut short by a signal fails on the way; the handler above reports it.
    if (stopping) return undefined;
    throw error;
  });
  if (started === undefined || stopping) return;
  stack = started;
  process.stdout.write(banner(stack));
}

main().catch((error: Error) => {
  process.stderr.write(`npm start failed: ${error.message}\n`);
  process.exit(1);
});
