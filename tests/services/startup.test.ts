/**
 * What each service loads to start and answer its startup probe, read from the bundle as the
 * stack runs it: not Node.js's bundled fetch client (undici), which the target's key set once
 * loaded at start, nor its worker threads, tty, zlib or assert, which pino, Express's `debug`,
 * Express's body parsers and pino's destination loaded and which the bundles now leave out
 * (build.mjs), nor https and TLS, which wait for the first call that needs them. Each of these
 * costs start-up time and resident memory for the life of the process (docs/benchmarks.md).
 */
import path from "node:path";
import { processLauncher } from "../../local/launcher";
import { NODE_FLAGS } from "../../services/nodeCommand";
// The placeholder configuration the image build starts each service with: no network, no secret.
import { WARM_UP_ENVIRONMENTS } from "../../services/fillCompileCache.mjs";

const PRELOAD = path.join(__dirname, "printLoadedModules.js");

/** The Node.js modules `bundle` loaded from its start to its stop, with one 200 on /health. */
async function modulesLoadedBy(bundle: "target" | "client"): Promise<string[]> {
  let loaded: string[] | undefined;
  const launch = processLauncher(
    (_service, line) => {
      if (typeof line === "object" && Array.isArray(line.loadedModules)) {
        loaded = line.loadedModules as string[];
      }
    },
    [...NODE_FLAGS, `--require=${PRELOAD}`],
  );
  // The launcher returns once /health has answered 200.
  const service = await launch({
    name: bundle,
    bundle,
    env: { PORT: "0", HOST: "127.0.0.1", ...WARM_UP_ENVIRONMENTS[bundle] },
  });
  await service.stop();
  await service.exited;
  if (loaded === undefined) throw new Error(`${bundle} printed no module list`);
  return loaded
    .filter((entry) => entry.startsWith("NativeModule "))
    .map((entry) => entry.slice(13));
}

describe.each(["target", "client"] as const)("the %s, started and probed once", (bundle) => {
  let modules: string[];
  beforeAll(async () => {
    modules = await modulesLoadedBy(bundle);
  });

  it("has loaded Node.js's http server, so the list below is the real one", () => {
    expect(modules).toContain("http");
  });

  it.each([
    "internal/deps/undici/undici",
    "worker_threads",
    "tty",
    "https",
    "tls",
    "zlib",
    "assert",
  ])("has not loaded %s", (module) => {
    expect(modules).not.toContain(module);
  });
});
