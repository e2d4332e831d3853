// Bundles each runnable program into one file under dist/: what the container images ship,
// what `npm start` runs and what the end-to-end tests start. One bundle per program starts
// faster than a tree of modules and needs no node_modules beside it.
import { build } from "esbuild";

export const BUNDLES = {
  target: "services/target/server.ts",
  client: "services/client/server.ts",
  local: "local/start.ts",
};

await build({
  entryPoints: BUNDLES,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  outdir: "dist",
  legalComments: "none",
  logLevel: "warning",
});
