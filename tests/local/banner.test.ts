/**
 * The commands `npm start`'s banner suggests, run as a person would paste them into a shell,
 * each against the answer the banner promises.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { banner } from "../../local/banner";
import { type LocalStack, startLocalStack } from "../../local/stack";

const run = promisify(execFile);

/** Each suggested command with the status its next line promises ("→ 403: …"). */
function suggestions(text: string): Array<{ command: string; status: number }> {
  const lines = text.split("\n");
  return lines.flatMap((line, i) => {
    const promise = /^\s+→ (\d{3}):/.exec(lines[i + 1] ?? "");
    return line.includes("curl ") && promise
      ? [{ command: line.trim(), status: Number(promise[1]) }]
      : [];
  });
}

describe("the commands npm start's banner suggests", () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ basePort: 0 });
  });
  afterAll(() => stack?.stop());

  it("are six, and each gets the status the banner promises", async () => {
    const listed = suggestions(banner(stack));
    expect(listed.map(({ status }) => status)).toEqual([200, 403, 403, 401, 200, 401]);
    for (const { command, status } of listed) {
      const { stdout } = await run("sh", [
        "-c",
        `${command} --silent --output /dev/null --write-out '%{http_code}'`,
      ]);
      expect({ command, status: Number(stdout) }).toEqual({ command, status });
    }
  });
});
