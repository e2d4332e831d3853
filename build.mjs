// Bundles each runnable program into one file under dist/: what the container images ship,
// what `npm start` runs and what the end-to-end tests start. One bundle per program starts
// faster than a tree of modules and needs no node_modules beside it.
//
//   node build.mjs                  every program
//   node build.mjs target client    only those (the container images build only the services)
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

export const BUNDLES = {
  target: "services/target/server.ts",
  client: "services/client/server.ts",
  local: "local/start.ts",
  // The benchmark and the pattern it compares against; never part of an image.
  bench: "bench/run.ts",
  "naive-client": "bench/naiveClient.ts",
};

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !(name in BUNDLES));
if (unknown.length > 0) {
  console.error(
    `unknown bundle ${unknown.join(", ")}; bundles: ${Object.keys(BUNDLES).join(", ")}`,
  );
  process.exit(1);
}
const entryPoints =
  requested.length === 0
    ? BUNDLES
    : Object.fromEntries(requested.map((name) => [name, BUNDLES[name]]));

const { outputFiles } = await build({
  entryPoints,
  bundle: true,
  platform: "node",
  target: "node22",
  format: "cjs",
  outdir: "dist",
  legalComments: "none",
  logLevel: "warning",
  // `debug` (under express) tries `supports-color` inside a try block. It is only installed as
  // a development dependency, so it must not be bundled into what production runs.
  external: ["supports-color"],
  write: false,
});

// Replace each bundle in one step, so a process starting while a build runs never reads a
// half-written file.
for (const file of outputFiles) {
  await mkdir(path.dirname(file.path), { recursive: true });
  await writeFile(`${file.path}.tmp`, file.contents);
  await rename(`${file.path}.tmp`, file.path);
}
