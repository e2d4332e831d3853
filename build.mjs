// Bundles each runnable program into one file under dist/: what the container images ship,
// what `npm start` runs and what the end-to-end tests start. One bundle per program starts
// faster than a tree of modules and needs no node_modules beside it.
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

const { outputFiles } = await build({
  entryPoints: BUNDLES,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  outdir: "dist",
  legalComments: "none",
  logLevel: "warning",
  write: false,
});

// Replace each bundle in one step, so a process starting while a build runs never reads a
// half-written file.
for (const file of outputFiles) {
  await mkdir(path.dirname(file.path), { recursive: true });
  await writeFile(`${file.path}.tmp`, file.contents);
  await rename(`${file.path}.tmp`, file.path);
}
