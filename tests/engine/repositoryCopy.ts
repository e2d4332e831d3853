/** A copy of the repository's program in a folder of its own, for a test that may edit it. */
import { cp, symlink } from "node:fs/promises";
import path from "node:path";

const ROOT = path.join(__dirname, "..", "..");

/** What a Pulumi run needs: the program, its config, the services it builds, the policy pack. */
const PROGRAM_FILES = [
  "index.ts",
  "config.ts",
  "components",
  "deploy",
  "services",
  "policy",
  "Pulumi.yaml",
  "package.json",
  "tsconfig.json",
];

/**
 * Copies the program and `extra` files of the repository into `dir`, with the repository's
 * node_modules linked in.
 */
export async function copyRepository(dir: string, extra: readonly string[] = []): Promise<void> {
  for (const file of [...PROGRAM_FILES, ...extra]) {
    await cp(path.join(ROOT, file), path.join(dir, file), { recursive: true });
  }
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
}
