/**
 * Running the machine's programs (docker, tar) from the container test, and telling a CI log
 * what the slow steps are doing while they run.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import type { Readable } from "node:stream";

const startedAt = performance.now();

/**
 * One line on stderr, written at once. Jest holds a test file's console output back until the
 * file ends, which for this file is minutes; a CI log should show each slow step as it starts.
 */
export function progress(message: string): void {
  const elapsed = ((performance.now() - startedAt) / 1000).toFixed(1);
  process.stderr.write(`[containers +${elapsed}s] ${message}\n`);
}

/** How long each phase of the test took, in the order they ran. */
export const phases: Array<{ label: string; seconds: number }> = [];

/** Runs one slow step, saying when it starts and how long it took. */
export async function phase<T>(label: string, step: () => Promise<T>): Promise<T> {
  progress(`${label} ...`);
  const start = performance.now();
  const result = await step();
  const seconds = (performance.now() - start) / 1000;
  phases.push({ label, seconds });
  progress(`${label}: done in ${seconds.toFixed(1)} s`);
  return result;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Fed to the program's standard input, e.g. another program's output. */
  stdin?: Readable;
}

/** The last lines of a program's output, for an error message that says what went wrong. */
function tail(output: string, lines = 40): string {
  return output.trimEnd().split("\n").slice(-lines).join("\n");
}

async function exitOf(child: ChildProcess, description: string, output: () => string) {
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  if (code !== 0) {
    const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
    throw new Error(`${description} failed with ${how}:\n${tail(output())}`);
  }
}

/** Runs a program to its end and resolves with its standard output; rejects if it fails. */
export async function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  if (options.stdin) {
    // A program that stops reading early fails on its own; its exit code says why.
    child.stdin!.on("error", () => undefined);
    options.stdin.pipe(child.stdin!);
  }
  let stdout = "";
  let combined = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    combined += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => (combined += chunk.toString()));
  await exitOf(child, [command, ...args].join(" "), () => combined);
  return stdout;
}

/** Runs `producer | consumer` and resolves with the consumer's output once both succeeded. */
export async function runPiped(
  producer: { command: string; args: readonly string[] },
  consumer: { command: string; args: readonly string[] },
  options: Omit<RunOptions, "stdin"> = {},
): Promise<string> {
  const source = spawn(producer.command, producer.args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let errors = "";
  source.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const consumed = run(consumer.command, consumer.args, { ...options, stdin: source.stdout! });
  // A consumer that fails leaves the producer blocked on a full pipe: end it too.
  void consumed.catch(() => source.kill());
  const [output] = await Promise.all([
    consumed,
    exitOf(source, [producer.command, ...producer.args].join(" "), () => errors),
  ]);
  return output;
}
