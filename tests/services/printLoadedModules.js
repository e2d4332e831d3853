// Preloaded by tests/services/startup.test.ts: when the service exits, one JSON line on stderr
// with the Node.js modules it loaded in its life (process.moduleLoadList).
process.on("exit", () => {
  process.stderr.write(`${JSON.stringify({ loadedModules: process.moduleLoadList })}\n`);
});
