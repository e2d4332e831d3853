// Fills Node.js's module compile cache (NODE_COMPILE_CACHE) for a service's bundle, so that the
// service's next start reads its compiled code instead of compiling it: the bundle is started
// once, as it will be started later, with a configuration that reaches `listening` and touches
// no network and no secret; it answers one /health, then stops on SIGTERM as on Cloud Run, and
// Node.js writes the cache as the process exits. Fails if no cache was written, so a build never
// ships without one by accident.
//
// V8 accepts a cache only from the same Node.js, the same user (the directory's name holds the
// uid) and the same V8 flags (the heap sizes aside: those do not count), so it is filled by the
// Node.js, the user and the flags that will run the service: inside the runtime image for the
// container (services/Dockerfile), and by the benchmark before it measures the local starts.
// (`npm start` and the tests fill the same local cache as they go: Node.js writes it whenever a
// service exits, for the next start.)
// Plain JavaScript with Node.js's own modules only, since the runtime image has nothing else.
//
//   SERVICE=<target|client> node services/fillCompileCache.mjs <cache directory> <node flags...> <bundle>
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { clearTimeout, setTimeout } from "node:timers";

/**
 * A configuration each service starts with and then waits: the target verifies tokens against
 * Google's key set, fetched with the first token only; the client calls the target with its
 * first request only. `.invalid` names resolve nowhere (RFC 2606).
 */
export const WARM_UP_ENVIRONMENTS = {
  target: {
    AUTH_MODE: "verify",
    AUDIENCES: "https://warm-up.invalid",
    ALLOWED_INVOKERS: "warm-up@warm-up.iam.gserviceaccount.com",
  },
  client: {
    TARGET_URL: "https://warm-up.invalid",
    TARGET_AUDIENCE: "https://warm-up.invalid",
  },
};

const START_TIMEOUT_MS = 30_000;

function health(port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/health", agent: false }, (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode));
      })
      .on("error", reject);
  });
}

/** The files under `directory`, none when it does not exist. */
function filesUnder(directory) {
  try {
    return readdirSync(directory, { recursive: true, withFileTypes: true }).filter((entry) =>
      entry.isFile(),
    ).length;
  } catch {
    return 0;
  }
}

/** Starts `node <nodeArgs>` as `service` with the cache in `cacheDir`; resolves once it wrote one. */
export async function fillCompileCache(service, cacheDir, nodeArgs) {
  const environment = WARM_UP_ENVIRONMENTS[service];
  if (environment === undefined) {
    throw new Error(`fillCompileCache: no warm-up configuration for "${service}"`);
  }
  const child = spawn(process.execPath, nodeArgs, {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      NODE_COMPILE_CACHE: cacheDir,
      HOST: "127.0.0.1",
      PORT: "0",
      ...environment,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  // The services log `listening` with the port they got, as their first line.
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("no `listening` line in time")),
      START_TIMEOUT_MS,
    );
    const read = (chunk) => {
      output += chunk.toString();
      const match = /"port":(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", (chunk) => (output += chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with code ${code} before listening`));
    });
  }).catch((error) => {
    child.kill("SIGKILL");
    throw new Error(`fillCompileCache: ${service} ${error.message}: ${output.trim()}`);
  });
  // One request, so that the code that serves it is in the cache too.
  const status = await health(port);
  child.kill("SIGTERM");
  const code = await exited;
  if (status !== 200 || code !== 0) {
    throw new Error(
      `fillCompileCache: ${service} answered /health with ${status} and exited with ${code}: ${output.trim()}`,
    );
  }
  if (filesUnder(cacheDir) === 0) {
    throw new Error(`fillCompileCache: ${service} ran but left no compile cache in ${cacheDir}`);
  }
}

// Run as a script (the Dockerfile), not imported (the benchmark's bundle, where import.meta is not).
if (path.basename(process.argv[1] ?? "") === "fillCompileCache.mjs") {
  const [cacheDir, ...nodeArgs] = process.argv.slice(2);
  fillCompileCache(process.env.SERVICE, cacheDir, nodeArgs).catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
