/**
 * The load generator as a process of its own: `node dist/load-generator.js '<LoadOptions JSON>'`
 * runs one load and prints its LoadResult as JSON. The benchmark starts it for every run, so
 * the load never shares an event loop with the stand-ins or with the measuring.
 */
import { runLoad } from "./load";

runLoad(JSON.parse(process.argv[2] ?? "{}"))
  .then((result) => process.stdout.write(JSON.stringify(result)))
  .catch((error: Error) => {
    process.stderr.write(`load generator failed: ${error.message}\n`);
    process.exit(1);
  });
