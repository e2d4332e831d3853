/**
 * A stand-in for the `docker` provider (pulumi-docker 5.2.0): `docker.Image` "built and pushed"
 * to a digest that follows the image's content, so that a code change rolls out a new revision
 * and no change rolls out nothing, as with real builds. The digest covers the Dockerfile, the
 * build arguments, the platform and every source file the service's bundle is made of (found
 * the way the Dockerfile's build stage finds them: esbuild from the service's entry point).
 * Nothing is built or pushed.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { imageBundle, standInHome } from "./localCloudRunSpec";
import { DOCKER_VERSION } from "./versions";
import { type Properties, serveProvider, type StandInResource, UNKNOWN } from "./providerServer";

interface BuildInputs {
  contextDigest?: string;
  context?: string;
  dockerfile?: string;
  platform?: string;
  args?: Record<string, string>;
}

/** The entry point of the service named by the SERVICE build argument. */
function serviceEntry(context: string, service: string): string {
  return path.join(context, "services", `${service}-service`, "server.ts");
}

/** esbuild from the program's own node_modules: the engine starts plugins there. */
function esbuildOf(context: string): typeof import("esbuild") {
  return createRequire(path.join(context, "package.json"))("esbuild") as typeof import("esbuild");
}

/** The source files `services/<SERVICE>-service/server.ts` is bundled from, relative to `context`. */
function bundleSources(context: string, service: string): string[] {
  const { metafile } = esbuildOf(context).buildSync({
    entryPoints: [serviceEntry(context, service)],
    bundle: true,
    platform: "node",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  return Object.keys(metafile.inputs).sort();
}

/** The digest an image built from `build` would have. */
export function contentDigest(build: BuildInputs): string {
  const context = path.resolve(build.context ?? ".");
  const dockerfile = path.resolve(context, build.dockerfile ?? "Dockerfile");
  const hash = createHash("sha256");
  hash.update(readFileSync(dockerfile));
  hash.update(JSON.stringify({ platform: build.platform ?? "", args: build.args ?? {} }));
  const service = build.args?.SERVICE;
  if (service !== undefined) {
    for (const file of bundleSources(context, service)) {
      hash.update(file);
      hash.update(readFileSync(path.resolve(context, file)));
    }
  }
  return `sha256:${hash.digest("hex")}`;
}

function imageOutputs(inputs: Properties, preview: boolean): Properties {
  const imageName = String(inputs.imageName ?? "");
  const repository = imageName.replace(/:[^/:]+$/, "");
  const built = !preview || inputs.buildOnPreview === true;
  return {
    ...inputs,
    baseImageName: imageName,
    registryServer: (inputs.registry as { server?: string } | undefined)?.server ?? "",
    repoDigest:
      built && !imageName.includes(UNKNOWN)
        ? `${repository}@${(inputs.build as BuildInputs | undefined)?.contextDigest ?? contentDigest((inputs.build ?? {}) as BuildInputs)}`
        : UNKNOWN,
  };
}

/**
 * "Pushes" the image: its bundle, built from the context as the Dockerfile's build stage
 * builds it, is kept in the stand-ins' folder under its digest, where the local Cloud Run finds
 * it. Without a stand-ins' folder there is nowhere to push, and nothing is built.
 */
function push(outputs: Properties): void {
  const home = standInHome();
  const build = (outputs.build ?? {}) as BuildInputs;
  const service = build.args?.SERVICE;
  const digest = String(outputs.repoDigest ?? "").split("@")[1];
  if (home === undefined || service === undefined || digest === undefined) return;
  const bundle = imageBundle(home, digest);
  if (existsSync(bundle)) return;
  const context = path.resolve(build.context ?? ".");
  esbuildOf(context).buildSync({
    entryPoints: [serviceEntry(context, service)],
    outfile: bundle,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    external: ["supports-color"],
    logLevel: "silent",
  });
}

const image: StandInResource = {
  replaceOnChanges: [],
  // Like the real provider, the image's inputs carry a digest of its build context, so that a
  // changed source file is a changed input even when the program's inputs are the same.
  check(inputs) {
    const build = (inputs.build ?? {}) as BuildInputs;
    return { ...inputs, build: { ...build, contextDigest: contentDigest(build) } };
  },
  create(inputs, context) {
    const outputs = imageOutputs(inputs, context.preview);
    if (!context.preview) push(outputs);
    return { id: String(inputs.imageName ?? ""), outputs };
  },
  update(_id, _olds, news, context) {
    const outputs = imageOutputs(news, context.preview);
    if (!context.preview) push(outputs);
    return outputs;
  },
  delete() {
    // A pushed image stays in the registry, as with the real provider.
  },
};

export const dockerStandIn = {
  version: DOCKER_VERSION,
  resources: { "docker:index/image:Image": image },
  functions: {},
};

if (require.main === module) void serveProvider(dockerStandIn);
