/**
 * The Docker engine the container test builds and runs with: the one DOCKER_HOST names, or the
 * default socket. The test never installs or starts one; without an engine it fails at once,
 * saying how to get one.
 *
 * Images need BuildKit (services/Dockerfile mounts a secret and a cache), so the client must be
 * one that builds with it: `docker` with the buildx plugin (Docker Engine 23 and later, Docker
 * Desktop), or else Debian's own client (/usr/bin/docker from docker.io, older than Docker 23),
 * which has BuildKit built in. .ci/lib.sh picks the same way.
 */
import { run, type RunOptions } from "./commands";

export interface DockerEngine {
  /** The docker client used for every command. */
  client: string;
  /** The environment every docker command runs with (BuildKit on). */
  env: NodeJS.ProcessEnv;
  /** Runs `docker <args>` against this engine and resolves with its standard output. */
  docker(args: readonly string[], options?: Omit<RunOptions, "env">): Promise<string>;
  /** What the daemon says of its version, for the figures. */
  serverVersion: string;
}

/** How to get an engine, for the error messages below. */
const HOW_TO_GET_ONE = [
  "Start Docker (Docker Desktop, or the Docker Engine service: `sudo systemctl start docker`), or",
  "point DOCKER_HOST at an engine that runs. On a bare Debian machine, as root, `.ci/test-containers`",
  "installs Docker, starts a private daemon, builds stand-in base images and runs this tier.",
].join("\n");

async function succeeds(command: string, args: readonly string[]) {
  try {
    await run(command, args);
    return true;
  } catch {
    return false;
  }
}

/** The first docker client on this machine that builds with BuildKit, if any. */
async function buildKitClient(): Promise<string | undefined> {
  if (await succeeds("docker", ["buildx", "version"])) return "docker";
  const debianClient = "/usr/bin/docker";
  const version = await run(debianClient, ["--version"]).catch(() => "");
  const major = /Docker version (\d+)\./.exec(version)?.[1];
  return major !== undefined && Number(major) < 23 ? debianClient : undefined;
}

/** The engine to build and run with; fails with a clear message when there is none. */
export async function connectDocker(): Promise<DockerEngine> {
  const client = await buildKitClient();
  if (client === undefined) {
    throw new Error(
      "The container tier needs a docker client that builds with BuildKit: `docker` with the " +
        "buildx plugin, or Debian's docker.io.\n" +
        HOW_TO_GET_ONE,
    );
  }
  const env = { ...process.env, DOCKER_BUILDKIT: "1" };
  const where = process.env.DOCKER_HOST
    ? `DOCKER_HOST=${process.env.DOCKER_HOST}`
    : "the default socket (DOCKER_HOST is not set)";
  let serverVersion: string;
  try {
    serverVersion = (
      await run(client, ["version", "--format", "{{.Server.Version}}"], { env })
    ).trim();
  } catch (error) {
    throw new Error(
      `No Docker engine answers at ${where}; the container tier builds and runs the images ` +
        `with one.\n${HOW_TO_GET_ONE}\n\n${client} version said: ${String(error)}`,
      { cause: error },
    );
  }
  return {
    client,
    env,
    serverVersion,
    docker: (args, options = {}) => run(client, args, { ...options, env }),
  };
}
