/**
 * A Launcher for the local stack that runs each service from its image, the way Cloud Run runs
 * it: `docker run` with PORT set and the service listening on all interfaces (HOST, which the
 * stack sets to keep processes on loopback, is left out); ready once `/health` answers 200, as
 * Cloud Run's startup probe checks; `docker stop` (SIGTERM, then SIGKILL after the grace period)
 * to end it. Containers share the host's network, so the stack's stand-ins on loopback and the
 * containers reach each other as they would on one machine.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import {
  type LaunchedService,
  type LaunchRequest,
  freePort,
  waitForHealthy,
} from "../../local/launcher";
import type { DockerEngine } from "./dockerEngine";

/** A service running in a container. */
export interface ContainerService extends LaunchedService {
  container: string;
  /** From `docker run` to the first 200 on /health. */
  startedInMs: number;
  /** What the service logged so far, one line each. */
  output(): string;
}

export interface ContainerStop {
  service: string;
  container: string;
  /** How long `docker stop` took. */
  seconds: number;
  /** The container's exit code, as the daemon recorded it. */
  exitCode: number;
}

export interface ContainerLauncher {
  /** `args`, when given, replace the image's CMD, as Cloud Run's container arguments do. */
  launch(request: LaunchRequest, args?: readonly string[]): Promise<ContainerService>;
  /** The last launch request for each service, to start it again the same way. */
  requests: Map<string, LaunchRequest>;
  /** Every `docker stop` so far, in order. */
  stops: ContainerStop[];
  /** Removes every container this launcher created that is still there. */
  removeAll(): Promise<void>;
}

/** Long enough for a container's first start on a slow machine; a process needs far less. */
const START_TIMEOUT_MS = 30_000;
/** Cloud Run sends SIGKILL this long after SIGTERM. */
const CLOUD_RUN_GRACE_MS = 10_000;

/** A launcher running `imageOf(bundle)` for each request, through `engine`. */
export function containerLauncher(
  engine: DockerEngine,
  imageOf: (bundle: string) => string,
): ContainerLauncher {
  const label = `s2s-test.run=${process.pid}`;
  const requests = new Map<string, LaunchRequest>();
  const stops: ContainerStop[] = [];
  let started = 0;

  const launch = async (
    request: LaunchRequest,
    args: readonly string[] = [],
  ): Promise<ContainerService> => {
    requests.set(request.name, request);
    // Cloud Run always sets a concrete PORT; pick one where the stack asks for "any".
    const { HOST: _loopbackOnly, ...given } = request.env;
    const port =
      given.PORT === undefined || given.PORT === "0"
        ? await freePort("0.0.0.0")
        : Number(given.PORT);
    const env = { ...given, PORT: String(port) };
    started += 1;
    const container = `s2s-test-${request.name}-${process.pid}-${started}`;
    const begin = performance.now();
    const child = spawn(
      engine.client,
      [
        "run",
        `--name=${container}`,
        "--network=host",
        `--label=${label}`,
        ...Object.entries(env).map(([name, value]) => `--env=${name}=${value}`),
        imageOf(request.bundle),
        ...args,
      ],
      { env: engine.env, stdio: ["ignore", "pipe", "pipe"] },
    );
    // `docker run` attached to the container exits with the container's exit code.
    const exited = once(child, "close").then(([code]) => code as number | null);
    const lines: string[] = [];
    const output = () => lines.join("\n");
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => lines.push(line));
    }

    await waitForHealthy(`http://127.0.0.1:${port}`, {
      name: container,
      exited,
      timeoutMs: START_TIMEOUT_MS,
      recentOutput: () => lines.slice(-3).join(" | "),
    }).catch(async (error: Error) => {
      await engine.docker(["rm", "--force", container]).catch(() => undefined);
      throw new Error(`${error.message}\n${output()}`);
    });
    const startedInMs = performance.now() - begin;

    const pid = Number(await engine.docker(["inspect", "--format={{.State.Pid}}", container]));
    let stopping: Promise<void> | undefined;
    const stop = async (graceMs: number) => {
      const stopBegin = performance.now();
      await engine.docker(["stop", `--time=${Math.ceil(graceMs / 1000)}`, container]);
      const seconds = (performance.now() - stopBegin) / 1000;
      await exited;
      const exitCode = Number(
        await engine.docker(["inspect", "--format={{.State.ExitCode}}", container]),
      );
      stops.push({ service: request.name, container, seconds, exitCode });
      await engine.docker(["rm", container]);
    };
    return {
      name: request.name,
      container,
      port,
      url: `http://127.0.0.1:${port}`,
      pid,
      startedInMs,
      // The stack may stop a service and then stop everything: the second stop does nothing.
      stop: (graceMs = CLOUD_RUN_GRACE_MS) => (stopping ??= stop(graceMs)),
      exited,
      output,
    };
  };

  const removeAll = async () => {
    const ids = (await engine.docker(["ps", "--all", "--quiet", `--filter=label=${label}`]))
      .split("\n")
      .filter(Boolean);
    if (ids.length > 0) await engine.docker(["rm", "--force", ...ids]);
  };

  return { launch, requests, stops, removeAll };
}
