/**
 * What a newcomer sees on the usual first mistakes: a clear sentence saying what to do, never a
 * stack trace or a silently ignored argument.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
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

describe("before npm ci", () => {
  let bare: string;
  beforeAll(() => {
    // A checkout without node_modules: the bundler script alone.
    bare = mkdtempSync(path.join(os.tmpdir(), "s2s-bare-"));
    copyFileSync(path.join(ROOT, "build.mjs"), path.join(bare, "build.mjs"));
  });
  afterAll(() => rmSync(bare, { recursive: true, force: true }));

  it("the build that npm start runs first says to run npm ci, without a stack trace", async () => {
    const { code, output } = await run(process.execPath, ["build.mjs"], bare);
    expect(code).toBe(1);
    expect(output.trim()).toBe("The dependencies are not installed: run `npm ci` first.");
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
