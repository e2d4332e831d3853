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
    bundler.onLoad({ filter: /\.json$/, namespace: "file" }, async ({ path: file }) => {
      const data = JSON.stringify(JSON.parse(await readFile(file, "utf8")));
      return { contents: `module.exports = JSON.parse(${JSON.stringify(data)});`, loader: "js" };
    });
  },
};

// What the services' bundles leave out or replace: code the services never run, which would
// otherwise cost every start its loading (Node.js's own modules among it) and every process the
// memory its source takes (docs/benchmarks.md has the figures). Each stand-in throws when it is
// used, so a change that comes to need the real thing fails at once, saying why.
const SERVICES = ["target", "client"];
const leftOut = (what) =>
  `throw new Error(${JSON.stringify(`${what} is left out of this bundle (build.mjs)`)});`;
const LEFT_OUT = [
  {
    // Express's body parsers (express.json(), express.urlencoded() and the others), which
    // Express loads as it loads: the services read no request body. Left out with them is what
    // they load at start, Node.js's zlib, raw-body, iconv-lite and its charset tables among it.
    filter: /^body-parser$/,
    importer: /[\\/]express[\\/]lib[\\/]express\.js$/,
    contents: `const leftOut = () => { ${leftOut("Express's body parsers")} };
      module.exports = { json: leftOut, raw: leftOut, text: leftOut, urlencoded: leftOut };`,
  },
  {
    // sonic-boom, pino's destination, checks one fact with Node.js's assert module when it is
    // closed; loading that module costs a few ms of every start. The same check, without it.
    filter: /^(node:)?assert$/,
    importer: /[\\/]sonic-boom[\\/]/,
    contents: "module.exports = (ok, message) => { if (!ok) throw new Error(message); };",
  },
  {
    // Loaded by gaxios (under google-auth-library) for its requests unless it is given a fetch:
    // the client gives it Node.js's own (services/client-service/googleIdTokens.ts).
    filter: /^node-fetch$/,
    importer: /[\\/]gaxios[\\/]/,
    contents: leftOut("node-fetch"),
  },
  {
    // Express and its parts log their inner workings through `debug` when DEBUG names them;
    // loading it loads Node.js's tty module to decide on colours, a good part of Express's own
    // start. Nothing sets DEBUG in Cloud Run: the services' Express says nothing either way.
    filter: /^debug$/,
    importer: /./,
    contents:
      "module.exports = () => Object.assign(() => {}, { enabled: false, extend() { return this; } });",
  },
  {
    // pino's transports (logging from a worker thread) and its check for the main thread, which
    // only matters to those and to asynchronous destinations: the services log synchronously
    // on the main thread. Without them pino does not load Node.js's worker_threads at start.
    filter: /^thread-stream$/,
    importer: /[\\/]pino[\\/]/,
    contents: `module.exports = class ThreadStream { constructor() { ${leftOut("pino's transports")} } };`,
  },
  {
    filter: /^(node:)?worker_threads$/,
    importer: /[\\/]pino[\\/]lib[\\/]tools\.js$/,
    contents: "module.exports = { isMainThread: true };",
  },
];
const leaveOut = {
  name: "leave-out",
  setup(bundler) {
    for (const [index, { filter, importer }] of LEFT_OUT.entries()) {
      bundler.onResolve({ filter }, (args) =>
        importer.test(args.importer)
          ? { path: args.path, namespace: "left-out", pluginData: index }
          : undefined,
      );
    }
    bundler.onLoad({ filter: /.*/, namespace: "left-out" }, ({ pluginData }) => ({
      contents: LEFT_OUT[pluginData].contents,
      loader: "js",
    }));
    // gaxios ships a CommonJS and an ES module build. google-auth-library and gcp-metadata
    // require the first; the client's import() of gaxios must reach the same copy, whose shared
    // instance the metadata client sends its requests through.
    bundler.onResolve({ filter: /^gaxios$/ }, ({ path: request, kind, resolveDir }) =>
      kind === "dynamic-import"
        ? bundler.resolve(request, { kind: "require-call", resolveDir })
        : undefined,
    );
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

const options = {
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
};
// The services in a build of their own, as what they leave out is left out of every bundle of a
// build: the benchmark's google-auth-library pattern, for one, needs node-fetch.
const groups = [
  Object.entries(entryPoints).filter(([name]) => SERVICES.includes(name)),
  Object.entries(entryPoints).filter(([name]) => !SERVICES.includes(name)),
].filter((group) => group.length > 0);
const outputFiles = (
  await Promise.all(
    groups.map((group) =>
      build({
        ...options,
        entryPoints: Object.fromEntries(group),
        plugins: SERVICES.includes(group[0][0]) ? [jsonAsParse, leaveOut] : [jsonAsParse],
      }),
    ),
  )
).flatMap((result) => result.outputFiles);

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
