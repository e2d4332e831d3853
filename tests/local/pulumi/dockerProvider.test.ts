import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { contentDigest, dockerStandIn } from "../../../local/pulumi/dockerProvider";
import {
  type OperationContext,
  type Properties,
  UNKNOWN,
} from "../../../local/pulumi/providerServer";

const ROOT = path.join(__dirname, "..", "..", "..");
const image = dockerStandIn.resources["docker:index/image:Image"];

const SHA256 = /^sha256:[0-9a-f]{64}$/;

function context(preview = false): OperationContext {
  return { config: {}, name: "target-image", preview };
}

let scratch: string;
const envBefore = process.env.STANDIN_CLOUD;

/**
 * A scratch build context shaped like this repository's: two services, each bundled from
 * services/<name>-service/server.ts, one of them importing a module of its own, and files
 * that no bundle is made of.
 */
beforeEach(() => {
  scratch = mkdtempSync(path.join(tmpdir(), "docker-stand-in-"));
  process.env.STANDIN_CLOUD = path.join(scratch, "cloud.json");
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
    writeFileSync(path.join(scratch, file), text);
  };
  write("Dockerfile", "FROM node:24-slim\nARG SERVICE\nCOPY . .\n");
  write("README.md", "# scratch\n");
  write(
    "services/alpha-service/server.ts",
    'import { greeting } from "./dep";\nconsole.log(greeting);\n',
  );
  write("services/alpha-service/dep.ts", 'export const greeting = "hello";\n');
  write("services/alpha-service/unused.ts", 'export const unused = "not imported";\n');
  write("services/beta-service/server.ts", 'console.log("beta");\n');
  // The stand-in bundles with the esbuild the build context's node_modules resolves.
  symlinkSync(path.join(ROOT, "node_modules"), path.join(scratch, "node_modules"), "dir");
});

afterEach(() => {
  if (envBefore === undefined) delete process.env.STANDIN_CLOUD;
  else process.env.STANDIN_CLOUD = envBefore;
  rmSync(scratch, { recursive: true, force: true });
});

function build(service = "alpha") {
  return { context: scratch, dockerfile: "Dockerfile", args: { SERVICE: service } };
}

function edit(file: string, text: string) {
  writeFileSync(path.join(scratch, file), text);
}

describe("the docker stand-in's identity", () => {
  it("claims the version of @pulumi/docker that the program depends on", () => {
    const installed = JSON.parse(
      readFileSync(path.join(ROOT, "node_modules", "@pulumi", "docker", "package.json"), "utf8"),
    ) as { version: string };
    expect(installed.version).toBe("5.2.0");
    expect(dockerStandIn.version).toBe("5.2.0");
  });

  it("never replaces an image: like the real provider, a changed input rebuilds it in place", () => {
    expect(image.replaceOnChanges).toEqual([]);
  });
});

describe("the digest of an image's build context", () => {
  it("is a sha256 digest that stays the same while nothing changes", () => {
    const digest = contentDigest(build());
    expect(digest).toMatch(SHA256);
    expect(contentDigest(build())).toBe(digest);
  });

  it("changes when a module the service's bundle imports changes", () => {
    const before = contentDigest(build());
    edit("services/alpha-service/dep.ts", 'export const greeting = "hello again";\n');
    expect(contentDigest(build())).not.toBe(before);
  });

  it("changes when the Dockerfile changes", () => {
    const before = contentDigest(build());
    edit("Dockerfile", "FROM node:24-alpine\nARG SERVICE\nCOPY . .\n");
    expect(contentDigest(build())).not.toBe(before);
  });

  it.each([
    ["a file at the top of the context", "README.md"],
    [
      "a module of the service's own folder that nothing imports",
      "services/alpha-service/unused.ts",
    ],
    ["another service's entry point", "services/beta-service/server.ts"],
  ])("stays the same when %s changes", (_what, file) => {
    const before = contentDigest(build());
    edit(file, "// changed\n");
    expect(contentDigest(build())).toBe(before);
  });

  it("differs between images built with different SERVICE build args", () => {
    expect(contentDigest(build("alpha"))).not.toBe(contentDigest(build("beta")));
  });
});

describe("the image resource of the docker stand-in", () => {
  function inputs(imageName: string, extra: Properties = {}): Properties {
    return {
      imageName,
      build: build(),
      registry: { server: "europe-west1-docker.pkg.dev" },
      ...extra,
    };
  }

  it("check() adds build.contextDigest, the digest of the build context, and keeps the other inputs", () => {
    const checked = image.check!(inputs("localhost:5000/alpha:v1"), context());
    const checkedBuild = checked.build as Record<string, unknown>;
    expect(checkedBuild.contextDigest).toMatch(SHA256);
    expect(checkedBuild.contextDigest).toBe(contentDigest(build()));
    expect(checkedBuild.args).toEqual({ SERVICE: "alpha" });
    expect(checkedBuild.context).toBe(scratch);
    expect(checked.imageName).toBe("localhost:5000/alpha:v1");
  });

  it("check() gives a new contextDigest once a source file of the bundle changes", () => {
    const before = (image.check!(inputs("localhost:5000/alpha:v1"), context()).build as Properties)
      .contextDigest;
    edit("services/alpha-service/dep.ts", 'export const greeting = "changed";\n');
    const after = (image.check!(inputs("localhost:5000/alpha:v1"), context()).build as Properties)
      .contextDigest;
    expect(after).toMatch(SHA256);
    expect(after).not.toBe(before);
  });

  it.each([
    [
      "europe-west1-docker.pkg.dev/demo-project/services/alpha:latest",
      "europe-west1-docker.pkg.dev/demo-project/services/alpha",
    ],
    ["localhost:5000/alpha:v1", "localhost:5000/alpha"],
    ["localhost:5000/alpha", "localhost:5000/alpha"],
  ])("reports the repoDigest of %s as %s@sha256:…", async (imageName, repository) => {
    const checked = image.check!(inputs(imageName), context());
    const digest = (checked.build as Properties).contextDigest as string;
    const { outputs } = await image.create(checked, context());
    expect(outputs.repoDigest).toBe(`${repository}@${digest}`);
    expect(outputs.repoDigest).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it("reports the repoDigest of the new build after an update", async () => {
    const name = "localhost:5000/alpha:v1";
    const first = image.check!(inputs(name), context());
    const { id, outputs } = await image.create(first, context());
    edit("services/alpha-service/dep.ts", 'export const greeting = "changed";\n');
    const second = image.check!(inputs(name), context());
    const updated = await image.update(id, outputs, second, context());
    expect(updated.repoDigest).toBe(
      `localhost:5000/alpha@${String((second.build as Properties).contextDigest)}`,
    );
    expect(updated.repoDigest).not.toBe(outputs.repoDigest);
  });

  it("in a preview, reports the repoDigest as unknown", async () => {
    const checked = image.check!(inputs("localhost:5000/alpha:v1"), context(true));
    expect((await image.create(checked, context(true))).outputs.repoDigest).toBe(UNKNOWN);
    expect((await image.update("id", checked, checked, context(true))).repoDigest).toBe(UNKNOWN);
  });

  it("in a preview with buildOnPreview, reports the repoDigest of the build", async () => {
    const checked = image.check!(
      inputs("localhost:5000/alpha:v1", { buildOnPreview: true }),
      context(true),
    );
    expect((await image.create(checked, context(true))).outputs.repoDigest).toBe(
      `localhost:5000/alpha@${String((checked.build as Properties).contextDigest)}`,
    );
  });
});
