/**
 * What a newcomer sees on the usual first mistakes: a clear sentence saying what to do, never a
 * stack trace or a silently ignored argument.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

async function run(command: string, args: string[], cwd: string) {
  const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, output };
}

/** A checkout without node_modules: the package manifest and the scripts npm runs first. */
function bareCheckout(): string {
  const bare = mkdtempSync(path.join(os.tmpdir(), "s2s-bare-"));
  mkdirSync(path.join(bare, "scripts"));
  for (const file of ["package.json", "build.mjs", "scripts/preflight.mjs", "scripts/test.mjs"]) {
    copyFileSync(path.join(ROOT, file), path.join(bare, file));
  }
  return bare;
}

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const PROJECT_NODE = (
  JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  }
).devDependencies.node!;

describe("before npm ci", () => {
  let bare: string;
  beforeAll(() => {
    bare = bareCheckout();
  });
  afterAll(() => rmSync(bare, { recursive: true, force: true }));

  it.each(["test", "start", "run build", "run verify", "run bench"])(
    "npm %s says to run npm ci first, without a stack trace",
    async (command) => {
      const { code, output } = await run(NPM, command.split(" "), bare);
      expect(code).not.toBe(0);
      expect(output).toContain("The dependencies are not installed: run `npm ci` first.");
      expect(output).not.toMatch(/not found|\n\s+at /);
    },
  );
});

describe("the project's own Node.js", () => {
  it("is the one npm runs this suite on, whatever node the machine has", () => {
    expect(process.versions.node.split(".")[0]).toBe(PROJECT_NODE.split(".")[0]);
  });

  it("is named by a bundle started by hand on another Node.js, with how to run it", async () => {
    // The bundle reads the major from process.versions, which this stands in for.
    const otherNode =
      'Object.defineProperty(process, "versions", { value: { ...process.versions, node: "20.20.2" } });' +
      "require(process.argv[1]);";
    const { output } = await run(
      process.execPath,
      ["-e", otherNode, path.join(ROOT, "dist", "verify.js"), "--help"],
      ROOT,
    );
    expect(output).toContain(`This bundle is built for Node.js ${PROJECT_NODE.split(".")[0]}`);
    expect(output).toContain("Run it through npm (npm start, npm run ...)");
    expect(output).toContain("node_modules/.bin/node");
  });

  it("is not mentioned by a bundle started on the project's own Node.js", async () => {
    const { output } = await run(
      process.execPath,
      [path.join(ROOT, "dist", "verify.js"), "--help"],
      ROOT,
    );
    expect(output).not.toContain("This bundle is built for");
    expect(output).toContain("usage: npm run verify");
  });

  it("is asked for by name when a script runs on another Node.js", async () => {
    const bare = bareCheckout();
    try {
      // Installed dependencies, but a manifest that wants a Node.js this one is not.
      mkdirSync(path.join(bare, "node_modules", ".bin"), { recursive: true });
      writeFileSync(path.join(bare, "node_modules", ".bin", "tsc"), "");
      const manifest = JSON.parse(readFileSync(path.join(bare, "package.json"), "utf8")) as {
        devDependencies: Record<string, string>;
      };
      manifest.devDependencies.node = "99.1.0";
      writeFileSync(path.join(bare, "package.json"), JSON.stringify(manifest));
      const { code, output } = await run(process.execPath, ["build.mjs"], bare);
      expect(code).toBe(1);
      expect(output).toContain(`This runs on Node.js ${process.version}`);
      expect(output).toContain("its own Node.js 99.1.0 (node_modules/.bin/node)");
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});

describe("npm start with an argument it does not know", () => {
  it.each([
    [["--prot", "9100"], "--prot"],
    [["--port", "9100", "--verbose"], "--verbose"],
  ])("%j is refused by name with the usage, and nothing starts", async (args, unknown) => {
    const { code, output } = await run(
      process.execPath,
      [path.join(ROOT, "dist", "local.js"), ...args],
      ROOT,
    );
    expect(code).toBe(1);
    expect(output).toContain(`unknown argument "${unknown}"`);
    expect(output).toContain("usage: npm start");
    expect(output).not.toContain("Local stack is up");
  });
});
