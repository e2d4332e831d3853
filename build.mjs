// Bundles each runnable program into one file under dist/: what the container images ship,
// what `npm start` runs and what the end-to-end tests start. One bundle per program starts
// faster than a tree of modules and needs no node_modules beside it.
//
//   node build.mjs                  every program
//   node build.mjs target client    only those (the container images build only the services)
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import "./scripts/preflight.mjs";

const { build } = await import("esbuild");

export const BUNDLES = {
  target: "services/target-service/server.ts",
  client: "services/client-service/server.ts",
  local: "local/start.ts",
  // `npm run verify`: the live check of a deployed stack.
  verify: "deploy/verify.ts",
  // The benchmark, its load generator and what it compares against; never part of an image.
  bench: "bench/run.ts",
  "load-generator": "bench/loadGenerator.ts",
  "unauthenticated-client": "bench/unauthenticatedClient.ts",
  "unauthenticated-target": "bench/unauthenticatedTarget.ts",
  "documented-pattern-client": "bench/documentedPatternClient.ts",
  "seed-pattern-client": "bench/seedPatternClient.ts",
  "bare-http-server": "bench/bareHttpServer.ts",
  "express-hello": "bench/expressHello.ts",
  // The engine tier's stand-ins for the Pulumi plugins that cannot be had here
  // (local/pulumi/): a Node.js language host and the gcp and docker providers.
  "pulumi-language-nodejs": "local/pulumi/languageHost.ts",
  "pulumi-resource-gcp": "local/pulumi/gcpProvider.ts",
  "pulumi-resource-docker": "local/pulumi/dockerProvider.ts",
  // The local Cloud Run that the gcp stand-in starts to run the services it deploys.
  "local-cloud-run": "local/pulumi/localCloudRun.ts",
  // `npm run deploy:local`: the user's journey with the real engine on the local Cloud Run.
  "deploy-local": "local/deployLocal.ts",
};

// JSON files (the largest is mime-db's list of media types, which Express loads at start) go in
// as JSON.parse of a string instead of as an object literal: V8 parses JSON text several times
// faster than the same data written as JavaScript.
const jsonAsParse = {
  name: "json-as-parse",
  setup(bundler) {
    bundler.onLoad({ filter: /\.json$/ }, async ({ path: file }) => {
      const data = JSON.stringify(JSON.parse(await readFile(file, "utf8")));
      return { contents: `module.exports = JSON.parse(${JSON.stringify(data)});`, loader: "js" };
    });
  },
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

// Every bundle is built for the project's Node.js. Started by hand on another one (`node
// dist/local.js` on the machine's Node.js 20, say), it says how to run it instead of failing in
// some obscure way later; the container images always run the project's major.
const { devDependencies } = JSON.parse(await readFile("package.json", "utf8"));
const projectMajor = devDependencies.node.split(".")[0];
// It follows the bundle's own "use strict": directives must come first.
const nodeCheck =
  `"use strict";\nif (process.versions.node.split(".")[0] !== ${JSON.stringify(projectMajor)}) ` +
  `console.error("This bundle is built for Node.js ${projectMajor} but runs on " + ` +
  `process.version + ".\\nRun it through npm (npm start, npm run ...), which uses the ` +
  `project's own Node.js,\\nor start it with node_modules/.bin/node.");`;

const { outputFiles } = await build({
  entryPoints,
  bundle: true,
  platform: "node",
  target: "node24",
  format: "cjs",
  outdir: "dist",
  legalComments: "none",
  logLevel: "warning",
  // `debug` (under express) tries `supports-color` inside a try block. It is only installed as
  // a development dependency, so it must not be bundled into what production runs.
  // The docker stand-in loads the program's own esbuild to find a service's sources.
  external: ["supports-color", "esbuild"],
  write: false,
  plugins: [jsonAsParse],
  banner: { js: nodeCheck },
});

/**
 * The bundle as pure ASCII. esbuild escapes every non-ASCII character in code, but not in the
 * comments it keeps from dependencies, and a single one there makes V8 hold the whole source
 * (the client's is 2 MB) at two bytes per character for the life of the process. In a comment
 * an escape sequence is as good as the character.
 */
function asAscii(text) {
  return text.replace(
    /[\u0080-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// Replace each bundle in one step, so a process starting while a build runs never reads a
// half-written file.
for (const file of outputFiles) {
  await mkdir(path.dirname(file.path), { recursive: true });
  await writeFile(`${file.path}.tmp`, asAscii(file.text));
  await rename(`${file.path}.tmp`, file.path);
}

// `npm run build` says what it built; the scripts that build before they run stay quiet.
if (process.env.npm_lifecycle_event === "build") {
  const names = outputFiles.map((file) => path.basename(file.path, ".js"));
  console.log(`Built ${names.length} bundles in dist/, one per program: ${names.join(", ")}.`);
}
