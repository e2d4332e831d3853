/**
 * The README's configuration table and Pulumi.yaml describe the same keys with the same
 * defaults, so neither can change without the other.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { projectConfig } from "../local/projectFile";

const ROOT = join(__dirname, "..");
const START = "<!-- config-table:start -->";
const END = "<!-- config-table:end -->";
/** How the table shows a key that has no default. */
const REQUIRED = "required";

/** Key → default as the README's table states them, backticks removed. */
function readmeTable(): Map<string, string> {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end < start) {
    throw new Error(`README.md must hold the configuration table between ${START} and ${END}`);
  }
  const rows = readme
    .slice(start + START.length, end)
    .split("\n")
    .filter((line) => line.trim().startsWith("|"))
    .slice(2); // the header and the separator
  return new Map(
    rows.map((row) => {
      const [key = "", defaultValue = ""] = row
        .split("|")
        .slice(1)
        .map((cell) => cell.trim().replace(/^`(.*)`$/, "$1"));
      return [key, defaultValue === '""' ? "" : defaultValue];
    }),
  );
}

/** Key → default as Pulumi.yaml declares them, plus the keys every stack must set. */
function projectFileDefaults(): Map<string, string> {
  const config = projectConfig();
  // gcp:project has no default: every stack sets it.
  const defaults = new Map<string, string>([["gcp:project", REQUIRED]]);
  for (const [key, declaration] of Object.entries(config)) {
    defaults.set(key, String(typeof declaration === "object" ? declaration.default : declaration));
  }
  return defaults;
}

test("the README's configuration table lists every key of Pulumi.yaml with its default, and no other", () => {
  const table = readmeTable();
  const declared = projectFileDefaults();
  expect(Object.fromEntries(table)).toEqual(Object.fromEntries(declared));
});

test("every relative link in the README and docs/ points to a file that exists", () => {
  const pages = ["README.md", ...readdirSync(join(ROOT, "docs")).map((name) => `docs/${name}`)];
  const broken: string[] = [];
  for (const page of pages) {
    const text = readFileSync(join(ROOT, page), "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      if (!existsSync(join(ROOT, dirname(page), target!))) broken.push(`${page} → ${target}`);
    }
  }
  expect(broken).toEqual([]);
});
