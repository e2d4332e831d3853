// The first step of `npm test`, `npm start`, `npm run build`, `bench` and `verify`: say plainly
// what is missing instead of failing later with a stack trace or "tsc: not found".
//
// The project brings its own Node.js: the `node` devDependency installs the official binary as
// node_modules/.bin/node, and npm puts that folder first on PATH for every script. So a script
// runs on that version whatever `node` the machine has, once `npm ci` has run.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const { devDependencies } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const projectNode = devDependencies.node;
const projectMajor = projectNode.split(".")[0];

if (!existsSync(path.join(root, "node_modules", ".bin", "tsc"))) {
  console.error("The dependencies are not installed: run `npm ci` first.");
  process.exit(1);
}
if (process.versions.node.split(".")[0] !== projectMajor) {
  console.error(
    `This runs on Node.js ${process.version}, but the project runs on its own Node.js ` +
      `${projectNode} (node_modules/.bin/node). Run it through npm (\`npm test\`, ` +
      "`npm start`, `npm run …`); if node_modules/.bin/node is missing, run `npm ci` again " +
      "without --ignore-scripts.",
  );
  process.exit(1);
}
