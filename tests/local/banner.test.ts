/**
 * The commands `npm start`'s banner suggests, run as a person would paste them into a shell:
 * first the lines it says to paste first, then each command, against the answer it promises.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { banner } from "../../local/banner";
import { type LocalStack, startLocalStack } from "../../local/stack";

const run = promisify(execFile);

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

describe("npm start's banner", () => {
  let stack: LocalStack;
  let lines: string[];
  beforeAll(async () => {
    stack = await startLocalStack({ basePort: 0 });
    lines = banner(stack).split("\n");
  });
  afterAll(() => stack?.stop());

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
});
