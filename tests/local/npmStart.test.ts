import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { freePort, isRunning } from "../../local/launcher";
import { TestServers } from "../helpers/servers";

const ROOT = path.join(__dirname, "..", "..");

interface Started {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Whether nothing listens on `port` on loopback right now. */
async function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/** A port that is free with the next one free too: `npm start --port N` listens on both. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port < 65535 && (await isFree(port + 1))) return port;
  }
}

const launched: Started[] = [];
const servers = new TestServers();

// Whatever a test leaves running (say an assertion failed before it stopped npm start) ends
// here: each npm start runs in a process group of its own, with every process it started.
afterEach(async () => {
  for (const started of launched.splice(0)) {
    try {
      process.kill(-started.npm.pid!, "SIGKILL");
    } catch {
      // Nothing of that group is left.
    }
    await started.exited;
  }
});
afterAll(() => servers.closeAll());

/** Runs `npm start` exactly as a user would, in its own process group (as a terminal does). */
function npmStart(...args: string[]): Started {
  const npm = spawn("npm", ["start", "--", ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  npm.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(npm, "exit").then(([code]) => code as number | null);
  const started = { npm, output: () => output, exited };
  launched.push(started);
  return started;
}

async function waitFor(started: Started, pattern: RegExp): Promise<RegExpExecArray> {
  for (let waited = 0; waited < 20_000; waited += 50) {
    const match = pattern.exec(started.output());
    if (match) return match;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`npm start never printed ${pattern}:\n${started.output()}`);
}

/** Every process descending from `pid`, read from /proc. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const children = [...parentOf]
      .filter(([, ppid]) => frontier.includes(ppid))
      .map(([child]) => child);
    found.push(...children);
    frontier = children;
  }
  return found;
}

/** The command line of a process, or "" once it has ended. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Waits until every one of `pids` has ended, or 10 s have passed; returns those still alive. */
async function survivorsOf(pids: number[]): Promise<number[]> {
  for (let waited = 0; waited < 10_000 && pids.some(isRunning); waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return pids.filter(isRunning);
}

/** Starts npm start, checks the chain answers, and returns the processes it started. */
async function startAndCall(): Promise<{ started: Started; pids: number[] }> {
  const started = npmStart("--port", "0");
  const [, clientUrl] = await waitFor(started, /Try:\n\s+curl (http:\/\/127\.0\.0\.1:\d+)\//);
  await waitFor(started, /Ctrl-C stops everything/);
  const response = await fetch(clientUrl!);
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { target: { body: { caller: { email: string } } } };
  expect(answer.target.body.caller.email).toBe("s2s-client@local-project.iam.gserviceaccount.com");
  const pids = descendants(started.npm.pid!);
  // npm, the stack's own process, the target and the client.
  expect(pids.length).toBeGreaterThanOrEqual(3);
  return { started, pids };
}

describe("npm start", () => {
  it("serves the chain and stops every process it started on Ctrl-C", async () => {
    const { started, pids } = await startAndCall();
    process.kill(-started.npm.pid!, "SIGINT");
    await started.exited;
    expect(await survivorsOf(pids)).toEqual([]);
  });

  it("stops every process it started when npm alone receives SIGTERM", async () => {
    const { started, pids } = await startAndCall();
    started.npm.kill("SIGTERM");
    await started.exited;
    expect(await survivorsOf(pids)).toEqual([]);
    expect(started.output()).toMatch(/Stopped\./);
  });

  it("stops the services it has already started when it is interrupted during start-up", async () => {
    const started = npmStart("--port", "0");
    // The moment the first service process exists, long before the banner.
    let pids: number[] = [];
    for (let waited = 0; waited < 20_000; waited += 10) {
      pids = descendants(started.npm.pid!);
      if (pids.some((pid) => commandLine(pid).includes("dist/target.js"))) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(pids.map(commandLine).join("\n")).toContain("dist/target.js");
    started.npm.kill("SIGTERM");
    await started.exited;
    expect(await survivorsOf(pids)).toEqual([]);
    expect(started.output()).not.toContain("Local stack is up");
    expect(started.output()).toMatch(/SIGTERM: stopping every service/);
  });

  it("names the process an earlier npm start left behind on its port, and only that one", async () => {
    const port = await freePortPair();
    const earlier = npmStart("--port", String(port));
    await waitFor(earlier, /Ctrl-C stops everything/);
    // The stack's own process dies without stopping its services, as after `kill -9`.
    const stackProcess = descendants(earlier.npm.pid!).find((pid) =>
      commandLine(pid).includes("dist/local.js"),
    )!;
    const leftovers = descendants(stackProcess);
    expect(leftovers.length).toBe(2);
    process.kill(stackProcess, "SIGKILL");
    // The client keeps the port; the target listens on a port of its own, not this one.
    const client = leftovers.find((pid) => commandLine(pid).includes("dist/client.js"))!;
    const target = leftovers.find((pid) => commandLine(pid).includes("dist/target.js"))!;

    const again = npmStart("--port", String(port));
    expect(await again.exited).not.toBe(0);
    expect(again.output()).toContain(
      `port ${port} is already in use by client.js (pid ${client}); stop it with \`kill ${client}\``,
    );
    expect(again.output()).not.toContain(`(pid ${target})`);
    expect(again.output()).not.toContain("pkill");
  });

  it("says which port is taken, by which process, and starts nothing when its first port is in use", async () => {
    const busy = await servers.stub((_req, res) => res.end());
    const started = npmStart("--port", String(busy.port));
    expect(await started.exited).not.toBe(0);
    expect(started.output()).toMatch(new RegExp(`port ${busy.port} is already in use`));
    expect(started.output()).toContain(`(pid ${process.pid})`);
    expect(descendants(started.npm.pid!)).toEqual([]);
  });
});
