/**
 * The commands `npm start`'s banner suggests, run as a person would paste them into a shell:
 * first the lines it says to paste first, then each command, against the answer it promises;
 * and the `npm run verify` command it prints, pasted on its own into a shell without gcloud.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { accessSync, constants, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { banner } from "../../local/banner";
import { sharedLocalStack } from "../helpers/localStack";

const run = promisify(execFile);
const ROOT = path.join(__dirname, "..", "..");

/** Each suggested command with the status its next line promises ("→ 403: …"). */
function suggestions(lines: string[]): Array<{ command: string; status: number }> {
  return lines.flatMap((line, i) => {
    const promise = /^\s+→ (\d{3}):/.exec(lines[i + 1] ?? "");
    return line.startsWith("  curl ") && promise
      ? [{ command: line.trim(), status: Number(promise[1]) }]
      : [];
  });
}

/** The lines to paste first: from the one that says so up to the first command using them. */
function setupLines(lines: string[]): string {
  const after = lines.slice(
    lines.findIndex((line) => line.includes("paste these lines first")) + 1,
  );
  return after
    .slice(
      0,
      after.findIndex((line) => line.startsWith("  curl -i")),
    )
    .join("\n");
}

/**
 * The `npm run verify` command as printed: its first line and every line a trailing backslash
 * continues, exactly as a person selects them to paste.
 */
function verifyCommand(lines: string[]): string {
  const first = lines.findIndex((line) => line.startsWith("  npm run verify -- "));
  if (first < 0) throw new Error(`no npm run verify command in:\n${lines.join("\n")}`);
  let last = first;
  while (lines[last]!.endsWith("\\")) last += 1;
  return lines.slice(first, last + 1).join("\n");
}

/** Where `command` is on the PATH this process runs with. */
function onPath(command: string): string {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return path.join(dir, command);
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${command} is not on the PATH`);
}

/**
 * Runs `script` with bash and `env` alone, asynchronously: the stack serves from this process.
 * No socket on stdin, or bash would take itself for a remote shell and read ~/.bashrc.
 */
async function bash(script: string, env: NodeJS.ProcessEnv) {
  const child = spawn(path.join(env.PATH!, "bash"), ["-c", script], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, "close")) as [number | null];
  return { code, output };
}

describe("npm start's banner", () => {
  const stack = sharedLocalStack();
  let lines: string[];
  beforeAll(() => {
    lines = banner(stack()).split("\n");
  });

  it("fits in 100 columns", () => {
    expect(lines.filter((line) => line.length > 100)).toEqual([]);
  });

  it("suggests six commands, and each gets the status the banner promises", async () => {
    const listed = suggestions(lines);
    expect(listed.map(({ status }) => status)).toEqual([200, 403, 403, 401, 200, 401]);
    const setup = setupLines(lines);
    for (const { command, status } of listed) {
      const statusOnly = command.replace(/^curl( -i)?/, "curl -s -o /dev/null -w '%{http_code}'");
      const { stdout } = await run("bash", ["-c", `${setup}\n${statusOnly}`]);
      expect({ command, status: Number(stdout) }).toEqual({ command, status });
    }
  });

  describe("its npm run verify command, pasted into bash where there is no gcloud", () => {
    // A PATH of bash, curl and node alone: gcloud may well sit in /usr/bin next to them.
    let bin: string;
    beforeAll(() => {
      bin = mkdtempSync(path.join(os.tmpdir(), "s2s-no-gcloud-"));
      symlinkSync(onPath("bash"), path.join(bin, "bash"));
      symlinkSync(onPath("curl"), path.join(bin, "curl"));
      symlinkSync(process.execPath, path.join(bin, "node"));
    });
    afterAll(() => rmSync(bin, { recursive: true, force: true }));

    it("passes all three checks, the target's own token being someone else's", async () => {
      const env = { PATH: bin };
      expect(await bash("command -v gcloud", env)).toEqual({ code: 1, output: "" });
      const command = verifyCommand(lines);
      expect(command).toContain(`--client ${stack().services.client.url} `);
      expect(command).toContain(`--target ${stack().services.target.url} `);
      expect(command).toContain(`--client-account ${stack().services.client.email} `);
      expect(command).toContain(stack().services.target.metadata.url);
      // `npm run verify` builds dist/verify.js, which the suite's global setup has built.
      const script = command.replace(
        /^ {2}npm run verify -- /,
        `node '${path.join(ROOT, "dist", "verify.js")}' `,
      );
      const { code, output } = await bash(script, env);
      expect(output).toContain("All 3 checks passed");
      expect(code).toBe(0);
    });
  });
});
