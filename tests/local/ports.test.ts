/**
 * The ports `npm start` is given: a taken one is refused naming exactly the processes that hold
 * it, and a first port whose neighbour does not exist is refused saying so.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import path from "node:path";
import { type LocalStack, portInUseMessage, startLocalStack } from "../../local/stack";
import { sharedLocalStack } from "../helpers/localStack";

const ROOT = path.join(__dirname, "..", "..");

const listeners: net.Server[] = [];
const started: LocalStack[] = [];
const children: ChildProcess[] = [];

// A stack that starts although it should not is stopped here, with every process it started;
// the listeners close after the file's tests.
afterEach(async () => {
  for (const stack of started.splice(0)) await stack.stop();
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = once(child, "exit");
    process.kill(-child.pid!, "SIGKILL");
    await exited;
  }
});
afterAll(async () => {
  await Promise.all(
    listeners.splice(0).map((server) => new Promise((closed) => server.close(closed))),
  );
});

/** Whether nothing listens on `port` on loopback right now. */
async function isFree(port: number): Promise<boolean> {
  const probe = net.createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * A plain listener in this process on a port the system picks, whose port before it is free:
 * returns that free port, the one a stack would be started from.
 */
async function listenerAfterAFreePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    listeners.push(server);
    await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
    const port = (server.address() as net.AddressInfo).port;
    if (port > 1024 && (await isFree(port - 1))) return port - 1;
  }
}

/** Starts a stack that is expected to fail, and returns why; one that starts is stopped after. */
async function failureToStart(basePort: number): Promise<string> {
  return startLocalStack({ basePort }).then(
    (stack) => {
      started.push(stack);
      return "the stack started";
    },
    (error: Error) => error.message,
  );
}

/** The pids a message names as holders, `(pid N)`. */
function namedPids(message: string): number[] {
  return [...message.matchAll(/\(pid (\d+)\)/g)].map(([, pid]) => Number(pid));
}

const onLinux = process.platform === "linux" ? describe : describe.skip;

onLinux("starting a local stack while a healthy one of the same checkout runs elsewhere", () => {
  const healthy = sharedLocalStack();
  let basePort: number;
  beforeAll(async () => {
    basePort = await listenerAfterAFreePort();
  });

  it("fails naming only the process that holds the front end's port, and how to stop exactly that one", async () => {
    const message = await failureToStart(basePort);
    const { target, client } = healthy().services;

    expect(message).toContain(`port ${basePort + 1} is already in use by `);
    expect(message).toContain(`(pid ${process.pid})`);
    expect(message).toContain(`stop it with \`kill ${process.pid}\``);
    expect(namedPids(message)).toEqual([process.pid]);
    expect(namedPids(message)).not.toContain(target.process.pid);
    expect(namedPids(message)).not.toContain(client.process.pid);
    expect(message).not.toContain("pkill");
  });
});

describe("the message for a port in use", () => {
  it("says what holds the port is unknown when no holder can be read", () => {
    const message = portInUseMessage(9001, []);
    expect(message).toBe(
      "port 9001 is already in use; what holds it is unknown " +
        "(another user's process, or this is not Linux); choose other ports with --port <first port>",
    );
  });

  it("names every holder and the one kill command that stops exactly them", () => {
    const message = portInUseMessage(9000, [
      { pid: 41, name: "client.js" },
      { pid: 42, name: "client.js" },
    ]);
    expect(message).toBe(
      "port 9000 is already in use by client.js (pid 41), client.js (pid 42); " +
        "stop them with `kill 41 42` or choose other ports with --port <first port>",
    );
  });
});

describe("a first port whose next one does not exist", () => {
  it("is refused by npm start saying the target's front end needs the next port, and nothing starts", async () => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, "dist", "local.js"), "--port", "65535"],
      // In a process group of its own, with whatever it might start.
      { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(child);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, "close")) as [number | null];

    expect(code).toBe(1);
    expect(output).toContain(
      "--port 65535: the target's front end takes the next port, 65536, which does not exist: " +
        "choose a port up to 65534",
    );
    expect(output).toContain("usage: npm start");
    expect(output).not.toContain("must be a port number");
    expect(output).not.toContain("Local stack is up");
  });

  it("is refused by startLocalStack with the same reason, before anything starts", async () => {
    expect(await failureToStart(65535)).toBe(
      "basePort 65535: the target's front end takes the next port, 65536, which does not exist: " +
        "choose a port up to 65534",
    );
  });
});
