/**
 * A service starts with the same command line wherever it runs: the container image's
 * ENTRYPOINT and CMD, the stack's container arguments and the launcher `npm start`, the tests and
 * the benchmark use; V8's heap follows the memory limit by one rule.
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { COMPILE_CACHE_DIR, DIST_DIR, spawnBundle } from "../../local/launcher";
import {
  IMAGE_MEMORY,
  mebibytes,
  NODE_ENVIRONMENT,
  NODE_FLAGS,
  nodeFlags,
} from "../../services/nodeCommand";
import { imageArguments } from "../../services/wiring";

const DOCKERFILE = path.join(__dirname, "..", "..", "services", "Dockerfile");
const FILL_SCRIPT = path.join(__dirname, "..", "..", "services", "fillCompileCache.mjs");

/** The Dockerfile's one `instruction` in exec form (ENTRYPOINT, CMD or RUN), as an argument list. */
function execForm(instruction: "ENTRYPOINT" | "CMD" | "RUN"): string[] {
  const pattern = new RegExp(`^${instruction}\\s+(?=\\[)`);
  const lines = readFileSync(DOCKERFILE, "utf8")
    .split("\n")
    .filter((line) => pattern.test(line));
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!.replace(pattern, "")) as string[];
}

const spawned: Array<ReturnType<typeof spawnBundle>> = [];

afterEach(async () => {
  await Promise.all(
    spawned.splice(0).map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    }),
  );
});

describe("the services' command line", () => {
  it("is node, then the flags for 512Mi and the bundle as the container image's CMD", () => {
    expect(execForm("ENTRYPOINT")).toEqual(["node"]);
    expect(execForm("CMD")).toEqual(imageArguments("512Mi"));
    expect(execForm("CMD")).toEqual([...NODE_FLAGS, "server.js"]);
    expect(IMAGE_MEMORY).toBe("512Mi");
  });

  it("is the one the image's compile cache is filled with, so that V8 accepts the cache", () => {
    // The fill script's own arguments are the cache directory, then node's command line.
    const [node, script, _cacheDirectory, ...commandLine] = execForm("RUN");
    expect([node, script]).toEqual(["node", "/fill/fillCompileCache.mjs"]);
    expect(commandLine).toEqual(execForm("CMD"));
  });

  it("runs in the environment the image's ENV sets, which the launcher gives every bundle", () => {
    // The final stage's ENV instruction, its continued lines joined.
    const finalStage = readFileSync(DOCKERFILE, "utf8")
      .split(/^FROM /m)
      .at(-1)!;
    const imageEnv = /^ENV (.*)$/m.exec(finalStage.replaceAll("\\\n", " "))![1]!.split(/\s+/);
    const child = spawnBundle("bare-http-server", { PORT: "0", HOST: "127.0.0.1" });
    spawned.push(child);
    const launched = readFileSync(`/proc/${child.pid}/environ`, "utf8").split("\0");
    expect(Object.keys(NODE_ENVIRONMENT).length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(NODE_ENVIRONMENT)) {
      expect(imageEnv).toContain(`${name}=${value}`);
      expect(launched).toContain(`${name}=${value}`);
    }
  });

  it("is the same when the launcher starts a bundle", async () => {
    // Without its configuration the target exits at once, which is all this needs.
    const child = spawnBundle("target", {});
    spawned.push(child);
    expect(child.spawnargs).toEqual([
      process.execPath,
      ...NODE_FLAGS,
      path.join(DIST_DIR, "target.js"),
    ]);
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(1);
  });

  it.each(["target", "client"])(
    "starts the %s from the compile cache services/fillCompileCache.mjs filled",
    async (bundle) => {
      // The fill script as the image build runs it, into the directory the launcher passes on.
      execFileSync(
        process.execPath,
        [FILL_SCRIPT, COMPILE_CACHE_DIR, ...NODE_FLAGS, path.join(DIST_DIR, `${bundle}.js`)],
        { env: { PATH: process.env.PATH ?? "", SERVICE: bundle }, stdio: "pipe" },
      );
      // Without its configuration the service exits at once, after its bundle was loaded.
      const child = spawnBundle(bundle, { NODE_DEBUG_NATIVE: "COMPILE_CACHE" });
      spawned.push(child);
      let output = "";
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      await once(child, "close");
      expect(output).toContain(
        `V8 code cache for CommonJS ${path.join(DIST_DIR, `${bundle}.js`)} was accepted`,
      );
    },
  );

  it("holds only flags this Node.js accepts", async () => {
    const child = spawnBundle("target", {});
    spawned.push(child);
    let output = "";
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await once(child, "exit");
    // The target got as far as reading its configuration: Node.js took every flag.
    expect(output).toContain("target cannot start: AUTH_MODE");
    expect(output).not.toMatch(/bad option|unknown flag/i);
  });
});

describe("the heap rule", () => {
  it("gives the old generation a quarter of the memory limit", () => {
    expect(nodeFlags("256Mi")).toContain("--max-old-space-size=64");
    expect(nodeFlags("512Mi")).toContain("--max-old-space-size=128");
    expect(nodeFlags("1Gi")).toContain("--max-old-space-size=256");
    expect(nodeFlags("1536Mi")).toContain("--max-old-space-size=384");
    expect(nodeFlags("32Gi")).toContain("--max-old-space-size=8192");
  });

  it("keeps 1 MiB semi-spaces and Maglev off at every size", () => {
    for (const memory of ["256Mi", "512Mi", "4Gi"]) {
      const flags = nodeFlags(memory);
      expect(flags).toContain("--max-semi-space-size=1");
      expect(flags).toContain("--no-maglev");
      expect(flags).toHaveLength(3);
    }
  });

  it("refuses memory below 256Mi and sizes it cannot read, naming the value", () => {
    expect(() => nodeFlags("255Mi")).toThrow('got "255Mi"');
    expect(() => nodeFlags("128Mi")).toThrow("at least 256Mi");
    expect(() => nodeFlags("512")).toThrow('got "512"');
    expect(() => nodeFlags("512MB")).toThrow('got "512MB"');
    expect(() => nodeFlags(" 512Mi")).toThrow('got " 512Mi"');
  });

  it("reads sizes as Cloud Run writes them", () => {
    expect(mebibytes("256Mi")).toBe(256);
    expect(mebibytes("2Gi")).toBe(2048);
    expect(mebibytes("2G")).toBeNaN();
    expect(mebibytes("")).toBeNaN();
  });
});
