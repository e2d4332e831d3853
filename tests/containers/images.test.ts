/**
 * The service images, built from the real Dockerfile as the Pulumi program builds them
 * (imageBuild.ts) and run the way Cloud Run runs them, behind the local metadata-server and
 * front-end stand-ins. `npm run test:containers`; not part of `npm test`.
 *
 * Needs a Docker engine on Linux (DOCKER_HOST, or the default socket): the containers share the
 * host's network and the test reads their processes in /proc. It installs and starts nothing;
 * without an engine it fails, saying how to get one. The images build from the Dockerfile's
 * public base images unless BUILD_IMAGE and RUNTIME_IMAGE name others (.ci/test-containers
 * passes local stand-ins). CONTAINER_FIGURES_FILE, if set, receives the measured figures as
 * Markdown.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type LocalStack, startLocalStack } from "../../local/stack";
import { NODE_ENVIRONMENT, NODE_FLAGS, nodeFlags } from "../../services/nodeCommand";
import { phase, phases, progress } from "./commands";
import { freePort } from "../../local/launcher";
import { imageArguments } from "../../services/wiring";
import { newSigningKey, signToken, withRemovedSignature } from "../helpers/tokens";
import {
  type ContainerLauncher,
  type ContainerService,
  containerLauncher,
} from "./containerLauncher";
import { connectDocker, type DockerEngine } from "./dockerEngine";
import { bundledPackages, devOnlyPackages, imageFile, imagePaths } from "./imageContents";
import {
  type BaseImages,
  baseImages,
  type Bundle,
  BUNDLES,
  buildServiceImage,
  DOCKERFILE,
  dockerfileDefaults,
  ensureImage,
  ROOT,
} from "./imageBuild";

/** The user the images must run as: distroless's `nonroot`. */
const NONROOT = 65532;
/** Where the images keep Node.js's module compile cache (NODE_COMPILE_CACHE). */
const COMPILE_CACHE = "/app/compile-cache";
/** What Node.js says (NODE_DEBUG_NATIVE=COMPILE_CACHE) when it runs the bundle from the cache. */
const FROM_CACHE = "V8 code cache for CommonJS /app/server.js was accepted";
/** The Node.js major version the images are built for. */
const NODE_MAJOR = 24;
/** How many times each image is started afresh, measuring docker run → first 200. */
const START_RUNS = 5;

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
  imageBytes: {} as Partial<Record<Bundle, number>>,
  bundleBytes: {} as Partial<Record<Bundle, number>>,
  startToHealthyMs: {} as Partial<Record<Bundle, number[]>>,
  /** The same, started with NODE_DISABLE_COMPILE_CACHE=1, in turn with those: what the cache saves. */
  startWithoutCacheMs: {} as Partial<Record<Bundle, number[]>>,
};
const suiteStart = performance.now();

let engine: DockerEngine | undefined;
let bases: BaseImages | undefined;
const images: Partial<Record<Bundle, string>> = {};
let launcher: ContainerLauncher | undefined;
let stack: LocalStack | undefined;

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

/** The Node.js version an image runs, asked of its own `node`. */
async function nodeVersionIn(image: string): Promise<string> {
  return (await engine!.docker(["run", "--rm", "--entrypoint=node", image, "--version"])).trim();
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
  const basesUsed = bases
    ? `${bases.build} to build, ${bases.runtime} to run${bases.defaults ? " (the Dockerfile's defaults)" : ""}`
    : "-";
  const text = [
    `Measured on ${os.cpus().length} cores with Docker ${figures.daemon || "-"} and Node.js ` +
      `${figures.nodeVersion || "-"} in the images; bases: ${basesUsed}.`,
    "",
    table([
      [
        "service",
        "image size",
        "bundle",
        "docker run → first 200 on /health: median (min–max)",
        "the same without the compile cache",
      ],
      ...BUNDLES.map((bundle) => [
        bundle,
        size(figures.imageBytes[bundle]),
        size(figures.bundleBytes[bundle]),
        `${spread(figures.startToHealthyMs[bundle] ?? [])}, ${figures.startToHealthyMs[bundle]?.length ?? 0} runs`,
        `${spread(figures.startWithoutCacheMs[bundle] ?? [])}, ${figures.startWithoutCacheMs[bundle]?.length ?? 0} runs`,
      ]),
    ]),
    "",
    `The runtime base alone: ${size(figures.runtimeBaseBytes)}.`,
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
  engine = await connectDocker();
  figures.daemon = engine.serverVersion;
  progress(`Docker ${engine.serverVersion}, client ${engine.client}`);
  bases = baseImages();
  const { runtime } = bases;
  await phase(`runtime base ${runtime}`, () => ensureImage(engine!, runtime));
  figures.runtimeBaseBytes = (await inspectImage(runtime)).Size;

  for (const bundle of BUNDLES) {
    images[bundle] = await phase(`building the ${bundle} image from ${DOCKERFILE}`, () =>
      buildServiceImage(engine!, bundle, bases!),
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
  writeFigures();
  if (failures.length > 0) throw failures[0];
}, 120_000);

/** The image built for `bundle`; fails clearly when the build did not get that far. */
function imageOf(bundle: string): string {
  const image = images[bundle as Bundle];
  if (image === undefined) throw new Error(`the ${bundle} image was not built`);
  return image;
}

describe("the service images", () => {
  it("default to the Dockerfile's public base stages: slim to build, distroless to run", () => {
    const defaults = dockerfileDefaults();
    expect(defaults.BUILD_IMAGE).toBe("public-build-base");
    expect(defaults.RUNTIME_IMAGE).toBe("public-runtime-base");
  });

  it.each(BUNDLES)(
    "%s: runs node on its bundle in exec form, as a non-root user, with NODE_ENV=production",
    async (bundle) => {
      const { Config } = await inspectImage(imageOf(bundle));
      expect(Config.User).toBe(`${NONROOT}:${NONROOT}`);
      expect(Config.Entrypoint).toEqual(["node"]);
      expect(Config.Cmd).toEqual([...NODE_FLAGS, "server.js"]);
      expect(Config.Env).toContain("NODE_ENV=production");
      expect(Config.Env).toContain(`NODE_COMPILE_CACHE=${COMPILE_CACHE}`);
      for (const [name, value] of Object.entries(NODE_ENVIRONMENT)) {
        expect(Config.Env).toContain(`${name}=${value}`);
      }
      expect(Config.Labels?.["org.opencontainers.image.title"]).toBe(bundle);
    },
  );

  it.each(BUNDLES)(`%s: runs Node.js ${NODE_MAJOR}`, async (bundle) => {
    const version = await nodeVersionIn(imageOf(bundle));
    figures.nodeVersion = version;
    expect(version).toMatch(new RegExp(`^v${NODE_MAJOR}\\.\\d+\\.\\d+$`));
  });

  it.each(BUNDLES)(
    "%s: container arguments replace the CMD and keep node as the entrypoint, as Cloud Run's args do, so V8's heap follows the memory",
    async (bundle) => {
      const heapLimitMiB = async (memory: string) => {
        const printed = await engine!.docker([
          "run",
          "--rm",
          imageOf(bundle),
          ...nodeFlags(memory),
          "-p",
          "v8.getHeapStatistics().heap_size_limit",
        ]);
        return Number(printed.trim()) / 2 ** 20;
      };
      const small = await heapLimitMiB("256Mi");
      const large = await heapLimitMiB("1Gi");
      // The old generation's limit plus V8's young generation and bookkeeping, a few MiB.
      expect(small).toBeGreaterThanOrEqual(64);
      expect(small).toBeLessThan(80);
      expect(large).toBeGreaterThanOrEqual(256);
      expect(large).toBeLessThan(272);
    },
  );

  it.each(BUNDLES)(
    "%s: adds to the runtime base the bundle dist/ holds and its compile cache for the image's user, and nothing else",
    async (bundle) => {
      const [paths, basePaths] = await Promise.all([
        imagePaths(engine!, imageOf(bundle)),
        imagePaths(engine!, bases!.runtime),
      ]);
      const added = paths.filter((entry) => !basePaths.includes(entry));
      const inCache = `${COMPILE_CACHE.slice(1)}/`;
      const cache = added.filter((entry) => entry.startsWith(inCache));
      expect(added.filter((entry) => !cache.includes(entry)).sort()).toEqual([
        "app",
        "app/compile-cache",
        "app/server.js",
      ]);
      // One directory of Node.js's own naming (version, architecture, V8's flags, the user id)
      // holding the entries: made by the image's Node.js as the image's user.
      const versions = cache.filter((entry) => !entry.slice(inCache.length).includes("/"));
      expect(versions).toEqual([expect.stringMatching(new RegExp(`-${NONROOT}$`))]);
      expect(cache.length).toBeGreaterThan(1);

      // Anything of the build stage's sources, or of a Node.js project's development tree.
      const forbidden = paths.filter(
        (entry) =>
          /^(src|services|local|bench|tests?)(\/|$)/.test(entry) ||
          /(^|\/)(node_modules|__tests__)(\/|$)/.test(entry) ||
          /\.(ts|mts|cts|map)$/.test(entry) ||
          /(^|\/)(package(-lock)?\.json|tsconfig\.json|build\.mjs|Dockerfile)$/.test(entry),
      );
      expect(forbidden).toEqual([]);

      const shipped = await imageFile(engine!, imageOf(bundle), "/app/server.js");
      figures.bundleBytes[bundle] = Buffer.byteLength(shipped);
      const built = await readFile(path.join(ROOT, "dist", `${bundle}.js`), "utf8");
      expect({ bundle, sameAsDist: shipped === built }).toEqual({ bundle, sameAsDist: true });
      expect(shipped).not.toMatch(/sourceMappingURL/);
    },
  );

  it.each(BUNDLES)("%s: bundles production dependencies only", async (bundle) => {
    const shipped = await imageFile(engine!, imageOf(bundle), "/app/server.js");
    const bundled = bundledPackages(shipped);
    // The bundle must name what it holds, or the check below would pass on nothing.
    expect([...bundled]).toContain("node_modules/express");
    const devOnly = devOnlyPackages(path.join(ROOT, "package-lock.json"));
    expect([...bundled].filter((name) => devOnly.has(name))).toEqual([]);
  });
});

describe("the images running as Cloud Run runs them", () => {
  beforeAll(async () => {
    // Fails here, naming the image, when a build failed, rather than midway through the stack.
    for (const bundle of BUNDLES) imageOf(bundle);
    launcher = containerLauncher(engine!, imageOf);
    const launch = launcher.launch;
    stack = await phase("starting the local stack with the service containers", () =>
      startLocalStack({ launch, basePort: 0 }),
    );
  }, 120_000);

  const containerOf = (service: Bundle) => stack!.services[service].process as ContainerService;

  /** Containers a test starts beside the stack's; stopped here whatever the test's outcome. */
  const startedByTest: ContainerService[] = [];
  afterEach(async () => {
    await Promise.all(startedByTest.splice(0).map((container) => container.stop()));
  });

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
    expect(target.frontEnd.stats.forwarded).toBeGreaterThanOrEqual(1);
    expect(client.metadata.stats.identityTokensIssued).toBeGreaterThanOrEqual(1);
  });

  it.each(BUNDLES)(
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

  it.each(BUNDLES)(
    `%s: ${START_RUNS} new containers in a row each answer 200 on /health and stop with exit code 0`,
    async (service) => {
      const request = launcher!.requests.get(service)!;
      const timings: number[] = [];
      const withoutCache: number[] = [];
      const exitCodes: Array<number | null> = [];
      for (let run = 0; run < START_RUNS; run += 1) {
        // Each run also starts one container without the compile cache, for the figures only.
        for (const cacheOff of [false, true]) {
          const port = await freePort("0.0.0.0");
          const container = await launcher!.launch({
            ...request,
            env: {
              ...request.env,
              PORT: `${port}`,
              ...(cacheOff && { NODE_DISABLE_COMPILE_CACHE: "1" }),
            },
          });
          (cacheOff ? withoutCache : timings).push(container.startedInMs);
          await container.stop();
          exitCodes.push(await container.exited);
        }
      }
      figures.startToHealthyMs[service] = timings;
      figures.startWithoutCacheMs[service] = withoutCache;
      progress(
        `${service}: docker run → first 200 ${timings.map((ms) => ms.toFixed(0)).join(", ")} ms`,
      );
      expect(exitCodes).toEqual(Array.from({ length: 2 * START_RUNS }, () => 0));
    },
    2 * START_RUNS * 60_000,
  );

  it.each(BUNDLES)(
    "%s: starts from the compile cache filled when the image was built, at the smallest memory and at 4Gi",
    async (service) => {
      const request = { name: service, bundle: service, env: stack!.services[service].env };
      for (const memory of ["256Mi", "4Gi"]) {
        const container = await launcher!.launch(
          { ...request, env: { ...request.env, PORT: "0", NODE_DEBUG_NATIVE: "COMPILE_CACHE" } },
          imageArguments(memory),
        );
        startedByTest.push(container);
        // Stopped before its output is read, so that every line it wrote has arrived.
        await container.stop();
        expect({ memory, fromCache: container.output().includes(FROM_CACHE) }).toEqual({
          memory,
          fromCache: true,
        });
      }
    },
    120_000,
  );

  it("target: started from its cache, still refuses a forged token and accepts the client's own", async () => {
    const { client, target } = stack!.services;
    const request = { name: "target", bundle: "target", env: target.env };
    const container = await launcher!.launch(
      { ...request, env: { ...request.env, PORT: "0", NODE_DEBUG_NATIVE: "COMPILE_CACHE" } },
      imageArguments("512Mi"),
    );
    startedByTest.push(container);
    const genuine = await stack!.issuer.issue({
      email: client.email,
      audience: target.url,
      format: "full",
    });
    const [header, payload] = genuine.split(".") as [string, string];
    const { kid } = JSON.parse(Buffer.from(header, "base64url").toString()) as { kid: string };
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<
      string,
      unknown
    >;
    // The same claims and key id, signed by a key the issuer never published.
    const forged = await signToken(newSigningKey(kid), claims);
    const statusWith = async (token: string) => {
      const response = await fetch(container.url, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(15_000),
      });
      await response.text();
      return response.status;
    };
    expect(await statusWith(forged)).toBe(401);
    expect(await statusWith(withRemovedSignature(genuine))).toBe(401);
    expect(await statusWith(genuine)).toBe(200);
    // Stopped before its output is read, so that every line it wrote has arrived.
    await container.stop();
    expect(container.output()).toContain(FROM_CACHE);
  }, 60_000);

  it("docker stop ends every container of the stack by itself within Cloud Run's 10 s grace period, exit code 0", async () => {
    await phase("stopping the stack", () => stack!.stop());
    const stopped = launcher!.stops.filter((stop) =>
      [...BUNDLES].some((bundle) => stop.container === containerOf(bundle).container),
    );
    expect(stopped.map((stop) => stop.service).sort()).toEqual([...BUNDLES].sort());
    // docker stop waits the 10 s grace period, then kills: a Node.js PID 1 that ignored SIGTERM
    // would end with exit code 137 instead.
    expect(stopped.filter((stop) => stop.exitCode !== 0)).toEqual([]);
  }, 60_000);
});
