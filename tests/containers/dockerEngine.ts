/**
 * A Docker engine for the container test: the daemon that already answers, if one does, or else
 * a private `dockerd` that this test starts in its own directories and stops at the end.
 *
 * The private daemon runs without iptables and without a bridge, so it needs no network set-up
 * and changes nothing on the machine; containers and builds use the host's network instead.
 * Images need BuildKit (services/Dockerfile mounts a secret and a cache), so the client must be
 * one that builds with it: one with the buildx plugin, or a client older than Docker 23 (such as
 * Debian's docker.io), which still has BuildKit built in.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { findExecutable, progress, run, type RunOptions } from "./commands";

export interface DockerEngine {
  /** The docker client used for every command. */
  client: string;
  /** The environment every docker command runs with (daemon address, BuildKit on). */
  env: NodeJS.ProcessEnv;
  /** Runs `docker <args>` against this engine and resolves with its standard output. */
  docker(args: readonly string[], options?: Omit<RunOptions, "env">): Promise<string>;
  /** What the daemon says of its version, for the figures. */
  serverVersion: string;
  /** Stops the daemon if this test started it; otherwise does nothing. */
  stop(): Promise<void>;
}

const DAEMON_START_TIMEOUT_MS = 60_000;
const DAEMON_STOP_TIMEOUT_MS = 30_000;

async function succeeds(command: string, args: readonly string[], env?: NodeJS.ProcessEnv) {
  try {
    await run(command, args, { env: env ?? process.env });
    return true;
  } catch {
    return false;
  }
}

/** The first docker client on this machine that builds with BuildKit, if any. */
async function buildKitClient(): Promise<string | undefined> {
  const candidates = [findExecutable("docker"), "/usr/bin/docker"].filter(
    (client): client is string => client !== undefined && existsSync(client),
  );
  for (const client of new Set(candidates)) {
    if (await succeeds(client, ["buildx", "version"])) return client;
    const version = /Docker version (\d+)\./.exec(await run(client, ["--version"]));
    if (version !== null && Number(version[1]) < 23) return client;
  }
  return undefined;
}

/** The daemon's version if a daemon answers this client in this environment. */
async function serverVersionOf(client: string, env: NodeJS.ProcessEnv) {
  try {
    return (await run(client, ["version", "--format", "{{.Server.Version}}"], { env })).trim();
  } catch {
    return undefined;
  }
}

/** Debian packages to install first: docker.io when neither a daemon nor the means to start one is here. */
export async function dockerPackagesNeeded(): Promise<string[]> {
  const client = await buildKitClient();
  if (client !== undefined && (await serverVersionOf(client, process.env)) !== undefined) {
    return [];
  }
  return client !== undefined && findExecutable("dockerd") !== undefined ? [] : ["docker.io"];
}

function engineFor(
  client: string,
  env: NodeJS.ProcessEnv,
  serverVersion: string,
  stop: () => Promise<void>,
): DockerEngine {
  return {
    client,
    env,
    serverVersion,
    docker: (args, options = {}) => run(client, args, { ...options, env }),
    stop,
  };
}

/** Lazily unmounts whatever a killed daemon left mounted below `directory`, so it can be removed. */
async function unmountBeneath(directory: string): Promise<void> {
  const mountPoints = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1])
    .filter((mountPoint): mountPoint is string => mountPoint?.startsWith(`${directory}/`) === true)
    .reverse();
  for (const mountPoint of mountPoints) {
    await run("umount", ["-l", mountPoint]).catch(() => undefined);
  }
}

/** Ends a process we started: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const stopped = await Promise.race([
    exited.then(() => true),
    delay(graceMs, false, { ref: false }),
  ]);
  if (!stopped) {
    progress(`dockerd did not stop within ${graceMs / 1000} s; killing it`);
    child.kill("SIGKILL");
    await exited;
  }
}

/** The Docker engine to build and run with; starts a private daemon when none answers. */
export async function provideDocker(workDir: string): Promise<DockerEngine> {
  const client = await buildKitClient();
  if (client === undefined) {
    throw new Error("no docker client that builds with BuildKit (install Debian's docker.io)");
  }
  const buildKitEnv = { ...process.env, DOCKER_BUILDKIT: "1" };
  const running = await serverVersionOf(client, buildKitEnv);
  if (running !== undefined) {
    progress(`using the Docker daemon that already runs (version ${running}), client ${client}`);
    return engineFor(client, buildKitEnv, running, async () => undefined);
  }

  const dockerd = findExecutable("dockerd");
  if (dockerd === undefined) throw new Error("dockerd is not installed (Debian's docker.io)");
  const root = path.join(workDir, "docker");
  await mkdir(root, { recursive: true });
  const socket = path.join(root, "docker.sock");
  const logFile = path.join(root, "dockerd.log");
  const log = openSync(logFile, "a");
  const daemon = spawn(
    dockerd,
    [
      "--iptables=false",
      "--ip6tables=false",
      "--bridge=none",
      "--storage-driver=overlay2",
      `--data-root=${path.join(root, "data")}`,
      `--exec-root=${path.join(root, "exec")}`,
      `--pidfile=${path.join(root, "dockerd.pid")}`,
      `--host=unix://${socket}`,
    ],
    { stdio: ["ignore", log, log] },
  );
  closeSync(log); // The daemon holds its own copy.
  const env = { ...buildKitEnv, DOCKER_HOST: `unix://${socket}` };
  const logTail = () => readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-20).join("\n");

  const stop = async () => {
    await terminate(daemon, DAEMON_STOP_TIMEOUT_MS);
    // The daemon's own containerd ends with it, unless the daemon had to be killed.
    const containerdPid = path.join(root, "exec", "containerd", "containerd.pid");
    if (existsSync(containerdPid)) {
      const pid = Number(readFileSync(containerdPid, "utf8"));
      if (pid > 0) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone, as it should be.
        }
      }
    }
    await unmountBeneath(root);
    progress("private dockerd stopped");
  };

  const deadline = performance.now() + DAEMON_START_TIMEOUT_MS;
  for (;;) {
    if (daemon.exitCode !== null || daemon.signalCode !== null) {
      throw new Error(`dockerd exited at start:\n${logTail()}`);
    }
    const version = await serverVersionOf(client, env);
    if (version !== undefined) {
      progress(`private dockerd ${version} answers on ${socket} (pid ${daemon.pid})`);
      return engineFor(client, env, version, stop);
    }
    if (performance.now() > deadline) {
      await stop();
      throw new Error(
        `dockerd did not answer within ${DAEMON_START_TIMEOUT_MS / 1000} s:\n${logTail()}`,
      );
    }
    await delay(200);
  }
}
