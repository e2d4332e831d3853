// `npm test`: the README's test command, in phases that each say what they do and about how
// long they take on a laptop with two cores, so that a long silence is never a mystery.
import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";

import "./preflight.mjs";

const PHASES = [
  ["type-check, tests included", "10 to 30 s", ["run", "typecheck"]],
  ["lint: ESLint, Prettier, actionlint", "15 to 40 s", ["run", "lint"]],
  ["unit and loopback end-to-end tests", "2 to 4 minutes", ["run", "test:unit"]],
];

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const started = performance.now();
for (const [index, [what, length, args]] of PHASES.entries()) {
  console.log(`\n[npm test ${index + 1}/${PHASES.length}] ${what} (${length}) ...`);
  const phaseStarted = performance.now();
  const { status } = spawnSync(npm, [...args, "--silent"], { stdio: "inherit" });
  const seconds = Math.round((performance.now() - phaseStarted) / 1000);
  if (status !== 0) {
    console.error(`[npm test] ${what} failed after ${seconds} s`);
    process.exit(status ?? 1);
  }
  console.log(`[npm test ${index + 1}/${PHASES.length}] ${what}: done in ${seconds} s`);
}
console.log(
  `\n[npm test] every phase passed in ${Math.round((performance.now() - started) / 1000)} s`,
);
