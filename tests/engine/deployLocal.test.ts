/**
 * `npm run deploy:local`, the user's journey on a laptop, run as a user runs it in a fresh copy
 * of the repository: every step says it worked, and nothing is left running after it, nor
 * after a Ctrl-C in the middle of `pulumi up`.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { copyRepository } from "./repositoryCopy";

const JOURNEY_MS = 300_000;

let clone: string | undefined;
beforeEach(async () => {
  clone = await mkdtemp(path.join(os.tmpdir(), "deploy-local-"));
  // The command also needs its bundles and the script that finds the Pulumi CLI.
  await copyRepository(clone, ["dist", "scripts"]);
});
afterEach(async () => {
  if (clone !== undefined) await rm(clone, { recursive: true, force: true });
  clone = undefined;
});

interface Journey {
  output: () => string;
  exited: Promise<number | null>;
  interrupt: () => void;
}

function startJourney(): Journey {
  const child = spawn(process.execPath, [path.join(clone!, "dist", "deploy-local.js")], {
    cwd: clone,
    env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return {
    output: () => output,
    exited: new Promise((resolve) => child.on("close", resolve)),
    interrupt: () => child.kill("SIGINT"),
  };
}

/**
 * Processes whose command line names the clone (whatever the journey started), once they are
 * gone or 30 s have passed: the engine's plugins end a moment after the CLI does.
 */
async function runningFromClone(): Promise<number[]> {
  let pids = await processesOfClone();
  for (let waited = 0; pids.length > 0 && waited < 30_000; waited += 200) {
    await delay(200);
    pids = await processesOfClone();
  }
  return pids;
}

async function processesOfClone(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const command = await readFile(`/proc/${entry}/cmdline`, "utf8");
      if (command.includes(clone!)) pids.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return pids;
}

test(
  "walks preview, up, both curls, verify and destroy, each step saying it worked, and leaves nothing running",
  async () => {
    const journey = startJourney();
    expect(await journey.exited).toBe(0);
    const output = journey.output();
    for (const line of [
      "✔ the policy pack passed",
      "✔ deployed, and the chain works",
      "✔ 200, the target names s2s-client@local-project.iam.gserviceaccount.com as its caller",
      "✔ 403: without a token, nobody gets in",
      "✔ every check passed",
      "✔ every resource deleted, and the local Cloud Run stopped",
      "The whole journey worked",
    ]) {
      expect(output).toContain(line);
    }
    expect(await runningFromClone()).toEqual([]);
  },
  JOURNEY_MS,
);

test(
  "a Ctrl-C during pulumi up stops everything it started",
  async () => {
    const journey = startJourney();
    while (!journey.output().includes("▶ pulumi up")) await delay(100);
    // Until the first service runs, so that there is something to stop.
    while (!journey.output().includes("gcp:cloudrunv2:Service target-service created")) {
      await delay(50);
    }
    journey.interrupt();
    expect(await journey.exited).toBe(1);
    expect(journey.output()).toContain("✘ interrupted");
    expect(await runningFromClone()).toEqual([]);
  },
  JOURNEY_MS,
);
