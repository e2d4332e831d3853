/**
 * index.ts is the reference people read once and copy: it must stay short and say its subject
 * in order, one client, one target, one grant, without a general engine in between.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadedBy } from "../helpers/loadedFiles";

const SOURCE = readFileSync(join(__dirname, "..", "..", "index.ts"), "utf8");

/** The lines that are code: neither blank nor comments. */
function codeLines(source: string): string[] {
  let inComment = false;
  return source.split("\n").filter((raw) => {
    const line = raw.trim();
    if (inComment) {
      inComment = !line.includes("*/");
      return false;
    }
    if (line.startsWith("/*")) {
      inComment = !line.includes("*/");
      return false;
    }
    return line !== "" && !line.startsWith("//");
  });
}

test("index.ts holds at most 90 lines of code", () => {
  expect(codeLines(SOURCE).length).toBeLessThanOrEqual(90);
});

test("index.ts reads top to bottom: config, retry hook, APIs, registry, both accounts, target and client with their images, the invoker grant, outputs", () => {
  const steps = [
    "loadStackConfig()",
    "propagationRetry()",
    "enableStackApis(",
    "imageRegistry(",
    'new gcp.serviceaccount.Account(\n    "target-account"',
    'new gcp.serviceaccount.Account(\n    "client-account"',
    'new CloudRunService(\n    "target"',
    'new ContainerImage("target"',
    'new CloudRunService(\n    "client"',
    'new ContainerImage("client"',
    "new gcp.cloudrunv2.ServiceIamMember(",
    'role: "roles/run.invoker",\n      member: clientAccount.member,',
    "return {",
  ];
  const positions = steps.map((step) => SOURCE.indexOf(step));
  expect(positions.every((position) => position >= 0)).toBe(true);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
});

test("index.ts builds no general engine: no deferred outputs, no loops, no sorting", () => {
  const code = codeLines(SOURCE).join("\n");
  expect(code).not.toMatch(/deferredOutput|\bfor\s*\(|\bwhile\s*\(|\.sort\(|\.forEach\(/);
});

test("the program loads its own files only: none of the policy pack, the benchmark, the stand-ins or the tests", () => {
  const { files } = loadedBy("index.ts");
  expect(files).toContain("index.ts");
  expect(files).toContain("components/cloudRunService.ts");
  const outside = files.filter((file) => /^(policy|bench|local|tests)\//.test(file));
  expect(outside).toEqual([]);
});

/** The paths the README's "Use it in your own stack" table tells a reader to copy. */
function pathsToCopy(): string[] {
  const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Use it in your own stack"));
  const rows = section.slice(0, section.indexOf("\n## ")).split("\n");
  return rows
    .filter((row) => row.startsWith("| `"))
    .flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

test("every file the program loads is one the README tells a reader to copy, and each folder's file count is true", () => {
  const copied = pathsToCopy();
  const uncovered = loadedBy("index.ts").files.filter(
    (file) =>
      !copied.some((path) => file === path || (path.endsWith("/") && file.startsWith(path))),
  );
  expect(uncovered).toEqual([]);
  const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
  for (const [, folder, count] of readme.matchAll(/\| `([a-z]+\/)` \(all (\w+) files\)/g)) {
    const files = readdirSync(join(__dirname, "..", "..", folder!)).filter((f) =>
      f.endsWith(".ts"),
    );
    expect(`${folder}: ${String(files.length)}`).toBe(
      `${folder}: ${String(WORDS.indexOf(count!))}`,
    );
  }
});

const WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
