/**
 * The service images, built from the real Dockerfile exactly as the stack builds them
 * (IMAGE_BUILD in services/topology.ts) and run the way Cloud Run runs them, behind the local
 * metadata-server and front-end stand-ins.
 *
 * On a machine without Docker it installs Debian's docker.io (and debootstrap) and runs a private
 * daemon for the duration of the test. Registries of container images may be out of reach, so
 * the Dockerfile's base images are replaced by local equivalents built from Debian and the
 * official Node.js binary (baseImages.ts). Run as root, on Linux; `npm run test:containers`.
 *
 * CONTAINER_TEST_CACHE names the directory that keeps the Debian root file system between runs
 * (default: a directory in the system's temporary directory); CONTAINER_FIGURES_FILE, if set,
 * receives the measured figures as Markdown.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { type LocalStack, startLocalStack } from "../../local/stack";
import { NODE_FLAGS } from "../../services/nodeCommand";
import { type BaseImages, basePackagesNeeded, buildBaseImages } from "./baseImages";
import { installDebianPackages, phase, phases, progress } from "./commands";
import {
  type ContainerLauncher,
  type ContainerService,
  containerLauncher,
  freePort,
} from "./containerLauncher";
import { type DockerEngine, dockerPackagesNeeded, provideDocker } from "./dockerEngine";
import { bundledPackages, devOnlyPackages, imageFile, imagePaths } from "./imageContents";

const ROOT = path.join(__dirname, "..", "..");
/** How index.ts builds each service's image: one Dockerfile, the SERVICE argument names the bundle. */
const IMAGE_BUILD = { context: ".", dockerfile: "services/Dockerfile", bundleArg: "SERVICE" };

const DOCKERFILE = path.join(ROOT, IMAGE_BUILD.dockerfile);
const SERVICES = ["target", "client"] as const;
const BUNDLES: readonly string[] = SERVICES;
const CACHE_DIR =
  process.env.CONTAINER_TEST_CACHE ?? path.join(os.tmpdir(), "s2s-container-test-cache");
/** The build secret services/Dockerfile reads a CA bundle from. */
const CA_SECRET = "npm-ca";
/** The user the images must run as: distroless's `nonroot`. */
const NONROOT = 65532;
/** Cloud Run kills an instance 10 s after SIGTERM; a clean stop must take well under that. */
const STOP_LIMIT_SECONDS = 5;
/** How many times each image is started to measure start → first 200. */
const START_RUNS = 5;
const START_TIMEOUT_MS = 30_000;
/** A container must answer within this: a generous bound for a one-file Node.js service. */
const START_LIMIT_MS = 5_000;

/** The `ARG NAME=default` lines before the Dockerfile's first FROM. */
function dockerfileDefaults(): Record<string, string> {
  const header = readFileSync(DOCKERFILE, "utf8").split(/^FROM /m)[0] ?? "";
  return Object.fromEntries(
    [...header.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((match) => [match[1]!, match[2]!]),
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** What the run measured, reported at the end whatever happened. */
const figures = {
  daemon: "",
  nodeVersion: "",
  runtimeBaseBytes: undefined as number | undefined,
  imageBytes: {} as Record<string, number>,
  bundleBytes: {} as Record<string, number>,
  startToHealthyMs: {} as Record<string, number[]>,
};
const suiteStart = performance.now();

let workDir: string;
let engine: DockerEngine | undefined;
let bases: BaseImages;
const images: Record<string, string> = {};
let launcher: ContainerLauncher | undefined;
let stack: LocalStack | undefined;

/** Builds one service's image the way the stack does: IMAGE_BUILD's context, file and argument. */
async function buildServiceImage(bundle: string): Promise<string> {
  const tag = `s2s-test/${bundle}:local`;
  // Behind a TLS-intercepting proxy npm needs the machine's CA bundle; it goes in as a build
  // secret, which no layer keeps.
  const caBundle = process.env.NODE_EXTRA_CA_CERTS;
  const secret =
    caBundle !== undefined && existsSync(caBundle)
      ? [`--secret=id=${CA_SECRET},src=${caBundle}`]
      : [];
  await engine!.docker([
    "build",
    "--progress=plain",
    "--network=host",
    `--file=${DOCKERFILE}`,
    `--build-arg=BUILD_IMAGE=${bases.build}`,
    `--build-arg=RUNTIME_IMAGE=${bases.runtime}`,
    `--build-arg=${IMAGE_BUILD.bundleArg}=${bundle}`,
    ...secret,
    `--tag=${tag}`,
    path.join(ROOT, IMAGE_BUILD.context),
  ]);
  return tag;
}

async function inspectImage(image: string) {
  const [details] = JSON.parse(await engine!.docker(["image", "inspect", image])) as Array<{
    Size: number;
    Config: {
      User: string;
      Entrypoint: string[] | null;
      Cmd: string[] | null;
      Env: string[];
      Labels: Record<string, string> | null;
    };
  }>;
  return details!;
}

/** The figures as Markdown, on stderr and in CONTAINER_FIGURES_FILE if that is set. */
function writeFigures(): void {
  const table = (rows: string[][]) =>
    [rows[0]!, rows[0]!.map(() => "---"), ...rows.slice(1)]
      .map((row) => `| ${row.join(" | ")} |`)
      .join("\n");
  const size = (bytes: number | undefined) => (bytes === undefined ? "-" : megabytes(bytes));
  const spread = (values: readonly number[]) =>
    values.length === 0
      ? "-"
      : `${median(values).toFixed(0)} ms (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} ms)`;
  const stops = launcher?.stops ?? [];
  const exitCodes = [...new Set(stops.map((stop) => stop.exitCode))].join(", ") || "-";
  const text = [
    `Measured on ${os.cpus().length} cores with Docker ${figures.daemon} and Node.js ` +
      `${figures.nodeVersion}, on the local stand-ins for the base images.`,
    "",
    table([
      ["service", "image size", "bundle", "start → first 200 on /health: median (min–max)"],
      ...SERVICES.map((service) => [
        service,
        size(figures.imageBytes[service]),
        size(figures.bundleBytes[service]),
        `${spread(figures.startToHealthyMs[service] ?? [])}, ${figures.startToHealthyMs[service]?.length ?? 0} runs`,
      ]),
    ]),
    "",
    `The runtime base alone (Node.js and its libraries, as in distroless): ${size(figures.runtimeBaseBytes)}.`,
    `docker stop (SIGTERM until the container exited): ${spread(stops.map((stop) => stop.seconds * 1000))} ` +
      `over ${stops.length} stops; exit codes: ${exitCodes}.`,
    "",
    table([
      ["phase", "seconds"],
      ...phases.map(({ label, seconds }) => [label, seconds.toFixed(1)]),
      ["whole test file", ((performance.now() - suiteStart) / 1000).toFixed(1)],
    ]),
    "",
  ].join("\n");
  process.stderr.write(`\n${text}\n`);
  if (process.env.CONTAINER_FIGURES_FILE) writeFileSync(process.env.CONTAINER_FIGURES_FILE, text);
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "s2s-containers-"));
  await installDebianPackages([
    ...(await dockerPackagesNeeded()),
    ...basePackagesNeeded(CACHE_DIR),
  ]);
  engine = await phase("Docker daemon", () => provideDocker(workDir));
  figures.daemon = engine.serverVersion;

  const nodeMajor = Number(/^node:(\d+)-/.exec(dockerfileDefaults().BUILD_IMAGE ?? "")?.[1]);
  bases = await buildBaseImages(engine, { nodeMajor, cacheDir: CACHE_DIR, workDir });
  figures.nodeVersion = bases.nodeVersion;
  figures.runtimeBaseBytes = (await inspectImage(bases.runtime)).Size;

  for (const bundle of BUNDLES) {
    images[bundle] = await phase(
      `building the ${bundle} image from ${IMAGE_BUILD.dockerfile}`,
      () => buildServiceImage(bundle),
    );
    figures.imageBytes[bundle] = (await inspectImage(images[bundle])).Size;
  }
}, 20 * 60_000);

afterAll(async () => {
  // Every step runs even if an earlier one fails, so nothing started here is left behind.
  const failures: unknown[] = [];
  const attempt = async (step: () => Promise<unknown>) => {
    try {
      await step();
    } catch (error) {
      failures.push(error);
      progress(`clean-up step failed: ${String(error)}`);
    }
  };
  await attempt(async () => stack?.stop());
  await attempt(async () => launcher?.removeAll());
  await attempt(async () => engine?.stop());
  await attempt(async () => workDir && rm(workDir, { recursive: true, force: true }));
  writeFigures();
  if (failures.length > 0) throw failures[0];
}, 120_000);

describe("the service images", () => {
  it("default to public Node.js 24 LTS bases: Debian slim to build, distroless to run", () => {
    const defaults = dockerfileDefaults();
    expect(defaults.BUILD_IMAGE).toBe("node:24-bookworm-slim");
    expect(defaults.RUNTIME_IMAGE).toBe("gcr.io/distroless/nodejs24-debian12:nonroot");
  });

  it.each(BUNDLES)(
    "%s: runs node on its bundle in exec form, as a non-root user, with NODE_ENV=production",
    async (bundle) => {
      const { Config } = await inspectImage(images[bundle]!);
      expect(Config.User).toBe(`${NONROOT}:${NONROOT}`);
      expect(Config.Entrypoint).toEqual(["node", ...NODE_FLAGS, "server.js"]);
      expect(Config.Cmd).toBeNull();
      expect(Config.Env).toContain("NODE_ENV=production");
      expect(Config.Labels?.["org.opencontainers.image.title"]).toBe(bundle);
    },
  );

  it.each(BUNDLES)(
    "%s: adds exactly one file to the runtime base, the bundle dist/ holds, and nothing else",
    async (bundle) => {
      const [paths, basePaths] = await Promise.all([
        imagePaths(engine!, images[bundle]!),
        imagePaths(engine!, bases.runtime),
      ]);
      const added = paths.filter((entry) => !basePaths.includes(entry));
      expect(added.sort()).toEqual(["app", "app/server.js"]);

      // Anything of the build stage's sources, or of a Node.js project's development tree.
      const forbidden = paths.filter(
        (entry) =>
          /^(src|services|local|bench|tests?)(\/|$)/.test(entry) ||
          /(^|\/)(node_modules|__tests__)(\/|$)/.test(entry) ||
          /\.(ts|mts|cts|map)$/.test(entry) ||
          /(^|\/)(package(-lock)?\.json|tsconfig\.json|build\.mjs|Dockerfile)$/.test(entry),
      );
      expect(forbidden).toEqual([]);

      const shipped = await imageFile(engine!, images[bundle]!, "/app/server.js");
      figures.bundleBytes[bundle] = Buffer.byteLength(shipped);
      const built = await readFile(path.join(ROOT, "dist", `${bundle}.js`), "utf8");
      expect({ bundle, sameAsDist: shipped === built }).toEqual({ bundle, sameAsDist: true });
      expect(shipped).not.toMatch(/sourceMappingURL/);
    },
  );

  it.each(BUNDLES)("%s: bundles production dependencies only", async (bundle) => {
    const shipped = await imageFile(engine!, images[bundle]!, "/app/server.js");
    const bundled = bundledPackages(shipped);
    // The bundle must name what it holds, or the check below would pass on nothing.
    expect([...bundled]).toContain("node_modules/express");
    const devOnly = devOnlyPackages(path.join(ROOT, "package-lock.json"));
    expect([...bundled].filter((name) => devOnly.has(name))).toEqual([]);
  });
});

describe("the images running as Cloud Run runs them", () => {
  beforeAll(async () => {
    if (BUNDLES.some((bundle) => images[bundle] === undefined)) {
      throw new Error("the images were not built; see the first failure");
    }
    launcher = containerLauncher(engine!, (bundle) => images[bundle]!);
    const launch = launcher.launch;
    stack = await phase("starting the local stack with the service containers", () =>
      startLocalStack({ launch, basePort: 0 }),
    );
  }, 120_000);

  const containerOf = (service: (typeof SERVICES)[number]) =>
    stack!.services[service].process as ContainerService;

  it("serves the client container's call to the target container through the front end, as the client's service account", async () => {
    const { client, target } = stack!.services;
    const response = await fetch(client.url, { signal: AbortSignal.timeout(15_000) });
    const answer = (await response.json()) as {
      target: { url: string; status: number; body: { caller: { email: string } } };
    };
    expect({ status: response.status, answer }).toMatchObject({
      status: 200,
      answer: { target: { status: 200, body: { caller: { email: client.email } } } },
    });
    // The call went to the front end, not straight to the target's container.
    expect(answer.target.url.replace(/\/$/, "")).toBe(target.url);
    expect(target.frontEnd?.stats.forwarded).toBeGreaterThanOrEqual(1);
    expect(client.metadata.stats.identityTokensIssued).toBeGreaterThanOrEqual(1);
  });

  it.each(SERVICES)(
    "%s: Node.js is PID 1, runs as a non-root user and listens on all interfaces",
    async (service) => {
      const { pid, port } = containerOf(service);
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const ids = (field: string) =>
        new RegExp(`^${field}:\\s+(.*)$`, "m").exec(status)?.[1]?.split(/\s+/).map(Number);
      expect(ids("Uid")).toEqual([NONROOT, NONROOT, NONROOT, NONROOT]);
      expect(ids("Gid")).toEqual([NONROOT, NONROOT, NONROOT, NONROOT]);
      // The last NSpid is the process's id inside the container: 1, so SIGTERM goes to Node.js.
      expect(ids("NSpid")?.at(-1)).toBe(1);
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toEqual([
        "node",
        ...NODE_FLAGS,
        "server.js",
        "",
      ]);
      // A listening socket (state 0A) bound to 0.0.0.0, as Cloud Run needs.
      const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
      const sockets = readFileSync(`/proc/${pid}/net/tcp`, "utf8");
      expect(sockets).toMatch(new RegExp(`^\\s*\\d+: 00000000:${hexPort} 00000000:0000 0A `, "m"));
    },
  );

  it.each(SERVICES)(
    `%s: a new container answers 200 on /health soon after docker run (${START_RUNS} runs)`,
    async (service) => {
      const request = launcher!.requests.get(service)!;
      const timings: number[] = [];
      for (let run = 0; run < START_RUNS; run += 1) {
        const port = await freePort();
        const health = `http://127.0.0.1:${port}/health`;
        const begin = performance.now();
        const launching = launcher!.launch({
          ...request,
          env: { ...request.env, PORT: `${port}` },
        });
        let failure: unknown;
        void launching.catch((error: unknown) => (failure = error));
        for (;;) {
          if (failure !== undefined) throw failure;
          const response = await fetch(health, { signal: AbortSignal.timeout(1000) }).catch(
            () => undefined,
          );
          await response?.arrayBuffer();
          if (response?.status === 200) break;
          if (performance.now() - begin > START_TIMEOUT_MS) {
            throw new Error(`${service} gave no 200 on /health within ${START_TIMEOUT_MS} ms`);
          }
          await delay(5);
        }
        timings.push(performance.now() - begin);
        await (await launching).stop();
      }
      figures.startToHealthyMs[service] = timings;
      progress(`${service}: start → first 200 ${timings.map((ms) => ms.toFixed(0)).join(", ")} ms`);
      // About a third of a second here; far more would mean the image does work at start.
      expect(Math.max(...timings)).toBeLessThan(START_LIMIT_MS);
    },
    START_RUNS * (START_TIMEOUT_MS + 15_000),
  );

  it(`docker stop ends every container with exit code 0 in under ${STOP_LIMIT_SECONDS} s`, async () => {
    await phase("stopping the stack", () => stack!.stop());
    const stops = launcher!.stops;
    expect(stops.map((stop) => stop.service).sort()).toEqual(
      expect.arrayContaining([...SERVICES].sort()),
    );
    // Node.js as PID 1 without a SIGTERM handler would ignore the signal: docker would kill it
    // after the grace period, with exit code 137.
    expect(stops.filter((stop) => stop.exitCode !== 0)).toEqual([]);
    expect(stops.filter((stop) => stop.seconds >= STOP_LIMIT_SECONDS)).toEqual([]);
  }, 60_000);
});
