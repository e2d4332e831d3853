// The process-level tests start the same bundles `npm start` and the images run, so build them
// once before any test file runs.
const { execFileSync } = require("node:child_process");
const path = require("node:path");

module.exports = function buildBundles() {
  execFileSync(process.execPath, [path.join(__dirname, "..", "build.mjs")], {
    cwd: path.join(__dirname, ".."),
    stdio: "inherit",
  });
};
