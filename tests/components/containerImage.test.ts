/**
 * The container image component, built directly: the image it builds and pushes, the credential
 * it pushes with, the reference it exposes, and its argument errors.
 */
import { ContainerImage, type ContainerImageArgs } from "../../components/containerImage";
import {
  FAKE_ACCESS_TOKEN,
  type MockedEngine,
  TYPES,
  startMockedEngine,
  valueOf,
} from "../helpers/pulumiMocks";

const REPOSITORY = "europe-west1-docker.pkg.dev/my-project/demo-images";

function validArgs(overrides: Partial<ContainerImageArgs> = {}): ContainerImageArgs {
  return {
    repositoryUrl: REPOSITORY,
    imageName: "api",
    context: ".",
    dockerfile: "services/Dockerfile",
    buildArgs: { SERVICE: "api" },
    buildOnPreview: false,
    ...overrides,
  };
}

describe("an image", () => {
  let engine: MockedEngine;
  let image: ContainerImage;

  beforeAll(async () => {
    engine = await startMockedEngine();
    image = new ContainerImage("api", validArgs());
    await engine.settle();
  });

  test("is built for Cloud Run's linux/amd64 from the given context, Dockerfile and arguments", () => {
    const [docker] = engine.ofType(TYPES.image);
    expect(docker!.inputs.build).toEqual({
      context: ".",
      dockerfile: "services/Dockerfile",
      platform: "linux/amd64",
      args: { SERVICE: "api" },
    });
  });

  test("is named inside the repository, by a child named after the component", () => {
    const [docker] = engine.ofType(TYPES.image);
    const [component] = engine.ofType("cloud-run-private-calls:components:ContainerImage");
    expect(docker!.name).toBe("api-image");
    expect(docker!.parent).toBe(component!.urn);
    expect(docker!.inputs.imageName).toBe(`${REPOSITORY}/api`);
  });

  test("is pushed to the repository's host with the deployer's access token, kept secret", () => {
    const [docker] = engine.ofType(TYPES.image);
    expect(docker!.inputs.registry).toEqual({
      server: "europe-west1-docker.pkg.dev",
      username: "oauth2accesstoken",
      password: FAKE_ACCESS_TOKEN,
    });
    expect(docker!.secretPaths).toContain("registry.password");
  });

  test("exposes the pushed digest as the reference to run", async () => {
    const [docker] = engine.ofType(TYPES.image);
    expect(await valueOf(image.digestReference)).toBe(docker!.outputs.repoDigest);
    expect(await valueOf(image.digestReference)).toMatch(
      new RegExp(`^${REPOSITORY}/api@sha256:[0-9a-f]{64}$`),
    );
  });
});

describe("argument errors", () => {
  beforeAll(async () => {
    await startMockedEngine();
  });

  test.each<[string, Partial<ContainerImageArgs>]>([
    ["imageName", { imageName: "API" }],
    ["imageName", { imageName: "api/v1" }],
    ["context", { context: " " }],
    ["dockerfile", { dockerfile: "" }],
    ["buildArgs", { buildArgs: { "NOT-AN-ARG": "x" } }],
  ])("an invalid %s is reported by name before anything is created", (argument, overrides) => {
    expect(() => new ContainerImage("broken", validArgs(overrides))).toThrow(
      `ContainerImage "broken": args.${argument} `,
    );
  });
});
