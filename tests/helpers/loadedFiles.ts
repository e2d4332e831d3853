/** What a module loads, directly or through other files, as esbuild follows its imports. */
import { join } from "node:path";
import { buildSync } from "esbuild";

const ROOT = join(__dirname, "..", "..");

export interface Loaded {
  /** The repository's own files, relative to its root. */
  files: string[];
  /** The packages imported from node_modules, as the files name them. */
  packages: string[];
}

/** Everything `entry` (relative to the repository's root) loads. */
export function loadedBy(entry: string): Loaded {
  const { metafile } = buildSync({
    entryPoints: [join(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    packages: "external",
    logLevel: "error",
  });
  const inputs = Object.values(metafile.inputs);
  const packages = inputs.flatMap((input) =>
    input.imports.filter((imported) => imported.external).map((imported) => imported.path),
  );
  return { files: Object.keys(metafile.inputs), packages: [...new Set(packages)].sort() };
}
