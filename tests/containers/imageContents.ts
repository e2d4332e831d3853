/**
 * What is inside an image, read without running anything in it: the runtime has no shell to
 * run `ls` with, so the test creates a container (which starts nothing) and reads its file
 * system as the tar archive `docker export` writes.
 */
import { readFileSync } from "node:fs";
import type { DockerEngine } from "./dockerEngine";
import { runPiped } from "./commands";

/** Runs `use` with a created, never started, container of `image`, then removes it. */
async function withCreatedContainer<T>(
  engine: DockerEngine,
  image: string,
  use: (container: string) => Promise<T>,
): Promise<T> {
  const container = (await engine.docker(["create", image])).trim();
  try {
    return await use(container);
  } finally {
    await engine.docker(["rm", container]);
  }
}

/** Every path in the image's file system, relative to its root, without a trailing slash. */
export function imagePaths(engine: DockerEngine, image: string): Promise<string[]> {
  return withCreatedContainer(engine, image, async (container) => {
    const listing = await runPiped(
      { command: engine.client, args: ["export", container] },
      { command: "tar", args: ["-t"] },
      { env: engine.env },
    );
    return listing
      .split("\n")
      .map((entry) => entry.replace(/^\.\//, "").replace(/\/$/, ""))
      .filter((entry) => entry !== "" && entry !== ".");
  });
}

/** The content of one file in the image. */
export function imageFile(engine: DockerEngine, image: string, file: string): Promise<string> {
  return withCreatedContainer(engine, image, (container) =>
    runPiped(
      { command: engine.client, args: ["cp", `${container}:${file}`, "-"] },
      { command: "tar", args: ["-xO"] },
      { env: engine.env },
    ),
  );
}

const PACKAGE_PATH =
  /node_modules\/(?:@[^/\s]+\/)?[^/\s]+(?:\/node_modules\/(?:@[^/\s]+\/)?[^/\s]+)*/;

/**
 * The packages an esbuild bundle holds, as package-lock.json names them
 * (`node_modules/express`, `node_modules/a/node_modules/b`): esbuild heads each bundled module
 * with a comment giving its path.
 */
export function bundledPackages(bundle: string): Set<string> {
  const packages = new Set<string>();
  for (const [, modulePath] of bundle.matchAll(/^\/\/ (\S+)$/gm)) {
    const match = PACKAGE_PATH.exec(modulePath!);
    if (match) packages.add(match[0]);
  }
  return packages;
}

/** The packages the lockfile installs for development only (its `dev: true` entries). */
export function devOnlyPackages(lockfile: string): Set<string> {
  const { packages } = JSON.parse(readFileSync(lockfile, "utf8")) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return new Set(
    Object.entries(packages)
      .filter(([, entry]) => entry.dev === true)
      .map(([name]) => name),
  );
}
