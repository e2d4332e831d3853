/**
 * A service starts with the same command line wherever it runs: the container image's
 * ENTRYPOINT and the launcher `npm start`, the tests and the benchmark use.
 */
import { once } from "node:events";
import { readFileSync } from "node:fs";
import path from "node:path";
import { DIST_DIR, spawnBundle } from "../../local/launcher";
import { NODE_FLAGS } from "../../services/nodeCommand";

const DOCKERFILE = path.join(__dirname, "..", "..", "services", "Dockerfile");

/** The exec-form ENTRYPOINT of the Dockerfile's last stage, as an argument list. */
function entrypoint(): string[] {
  const lines = readFileSync(DOCKERFILE, "utf8")
    .split("\n")
    .filter((line) => /^ENTRYPOINT\s/.test(line));
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!.replace(/^ENTRYPOINT\s+/, "")) as string[];
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
  it("is node, the flags, then the bundle in the container image", () => {
    expect(entrypoint()).toEqual(["node", ...NODE_FLAGS, "server.js"]);
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
