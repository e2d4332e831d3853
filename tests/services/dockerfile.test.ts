/**
 * services/Dockerfile's base images, read from the file: the public Node.js 24 LTS bases on
 * Debian 13, each pinned by digest in a FROM line of its own (which Dependabot updates), and the
 * build arguments that default to them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

const DOCKERFILE = readFileSync(path.join(__dirname, "..", "..", "services", "Dockerfile"), "utf8");

/** Each `FROM <image> AS <stage>` line, as stage → image. */
function stages(): Record<string, string> {
  return Object.fromEntries(
    [...DOCKERFILE.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((match) => [match[2]!, match[1]!]),
  );
}

/** The `ARG NAME=default` lines before the first FROM: the global build arguments. */
function globalArguments(): Record<string, string> {
  const header = DOCKERFILE.split(/^FROM /m)[0] ?? "";
  return Object.fromEntries(
    [...header.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((match) => [match[1]!, match[2]!]),
  );
}

const DIGEST = "@sha256:[0-9a-f]{64}$";

describe("the Dockerfile's base images", () => {
  test("are Node.js 24 on Debian 13 trixie, slim to build in and distroless to run in, each pinned by digest", () => {
    const { "public-build-base": build, "public-runtime-base": runtime } = stages();
    expect(build).toMatch(new RegExp(`^node:24-trixie-slim${DIGEST}`));
    expect(runtime).toMatch(new RegExp(`^gcr\\.io/distroless/nodejs24-debian13:nonroot${DIGEST}`));
  });

  test("are what BUILD_IMAGE and RUNTIME_IMAGE name unless a build overrides them", () => {
    expect(globalArguments()).toEqual({
      BUILD_IMAGE: "public-build-base",
      RUNTIME_IMAGE: "public-runtime-base",
    });
    expect(DOCKERFILE).toMatch(/^FROM \$\{BUILD_IMAGE\} AS build$/m);
    expect(DOCKERFILE).toMatch(/^FROM \$\{RUNTIME_IMAGE\}$/m);
  });

  test("every FROM names a build argument, an earlier stage or an image pinned by digest", () => {
    const froms = [...DOCKERFILE.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]!);
    expect(froms).toHaveLength(6);
    for (const from of froms) {
      expect(from).toMatch(new RegExp(`^\\$\\{\\w+\\}$|^build$|${DIGEST}`));
    }
  });
});
