/**
 * How the container test builds the service images: as the Pulumi program does, with the
 * repository root as the context, services/Dockerfile, and the build argument SERVICE naming the
 * bundle. The base images are the Dockerfile's public defaults unless BUILD_IMAGE and
 * RUNTIME_IMAGE name others, such as the stand-ins that .ci/base-images builds where no
 * container registry can be reached.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { DockerEngine } from "./dockerEngine";

export const ROOT = path.join(__dirname, "..", "..");
export const CONTEXT = ".";
export const DOCKERFILE = "services/Dockerfile";
/** The build argument that names the bundle an image runs. */
export const SERVICE_ARG = "SERVICE";
/** One image per service, each running the bundle of the same name. */
export const BUNDLES = ["target", "client"] as const;
export type Bundle = (typeof BUNDLES)[number];
/** The build secret services/Dockerfile reads a CA bundle from. */
const CA_SECRET = "npm-ca";

export interface BaseImages {
  build: string;
  runtime: string;
  /** Whether they are the Dockerfile's own defaults. */
  defaults: boolean;
}

/** The `ARG NAME=default` lines before the Dockerfile's first FROM. */
export function dockerfileDefaults(): Record<string, string> {
  const text = readFileSync(path.join(ROOT, DOCKERFILE), "utf8");
  const header = text.split(/^FROM /m)[0] ?? "";
  return Object.fromEntries(
    [...header.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((match) => [match[1]!, match[2]!]),
  );
}

/** BUILD_IMAGE and RUNTIME_IMAGE from the environment, both or neither; else the defaults. */
export function baseImages(env: NodeJS.ProcessEnv = process.env): BaseImages {
  const { BUILD_IMAGE: build, RUNTIME_IMAGE: runtime } = env;
  if (build && runtime) return { build, runtime, defaults: false };
  if (build || runtime) {
    throw new Error("set both BUILD_IMAGE and RUNTIME_IMAGE, or neither to use the defaults");
  }
  const defaults = dockerfileDefaults();
  if (!defaults.BUILD_IMAGE || !defaults.RUNTIME_IMAGE) {
    throw new Error(`${DOCKERFILE} has no default BUILD_IMAGE or RUNTIME_IMAGE`);
  }
  return { build: defaults.BUILD_IMAGE, runtime: defaults.RUNTIME_IMAGE, defaults: true };
}

/** Builds one service's image and resolves with its tag. */
export async function buildServiceImage(
  engine: DockerEngine,
  bundle: Bundle,
  bases: BaseImages,
): Promise<string> {
  const tag = `s2s-test/${bundle}:local`;
  // Behind a TLS-intercepting proxy npm needs the machine's CA bundle; it goes in as a build
  // secret, which no layer keeps.
  const caBundle = process.env.NODE_EXTRA_CA_CERTS;
  const secret =
    caBundle !== undefined && existsSync(caBundle)
      ? [`--secret=id=${CA_SECRET},src=${caBundle}`]
      : [];
  // The defaults are left to the Dockerfile, so the build proves them as written.
  const baseArgs = bases.defaults
    ? []
    : [`--build-arg=BUILD_IMAGE=${bases.build}`, `--build-arg=RUNTIME_IMAGE=${bases.runtime}`];
  await engine.docker([
    "build",
    "--progress=plain",
    "--network=host",
    `--file=${path.join(ROOT, DOCKERFILE)}`,
    ...baseArgs,
    `--build-arg=${SERVICE_ARG}=${bundle}`,
    ...secret,
    `--tag=${tag}`,
    path.join(ROOT, CONTEXT),
  ]);
  return tag;
}

/** Makes sure `image` is in the engine's image store, pulling it if it is not. */
export async function ensureImage(engine: DockerEngine, image: string): Promise<void> {
  const present = await engine.docker(["image", "inspect", image]).then(
    () => true,
    () => false,
  );
  if (!present) await engine.docker(["pull", "--quiet", image]);
}
