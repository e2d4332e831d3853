/**
 * The container image component, built directly: the image it builds and pushes, the credential
 * it pushes with, the reference it exposes, and its argument errors.
 */
import { ContainerImage } from "../../components/containerImage";
import {
  FAKE_ACCESS_TOKEN,
  type MockedEngine,
  TYPES,
  startMockedEngine,
  valueOf,
} from "../helpers/pulumiMocks";

const REPOSITORY = "europe-west1-docker.pkg.dev/my-project/demo-images";

describe("an image", () => {
  let engine: MockedEngine;
  let image: ContainerImage;

  beforeAll(async () => {
    engine = await startMockedEngine();
    image = new ContainerImage("target", { registry: REPOSITORY, buildOnPreview: false });
    await engine.settle();
  });

  test("is built for Cloud Run's linux/amd64 from services/Dockerfile, its SERVICE picking the bundle", () => {
    const [docker] = engine.ofType(TYPES.image);
    expect(docker!.inputs.build).toEqual({
      context: ".",
      dockerfile: "services/Dockerfile",
      platform: "linux/amd64",
      args: { SERVICE: "target" },
    });
  });

  test("is named inside the repository, by a child named after the component", () => {
    const [docker] = engine.ofType(TYPES.image);
    const [component] = engine.ofType("cloud-run-private-calls:components:ContainerImage");
    expect(docker!.name).toBe("target-image");
    expect(docker!.parent).toBe(component!.urn);
    expect(docker!.inputs.imageName).toBe(`${REPOSITORY}/target`);
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
      new RegExp(`^${REPOSITORY}/target@sha256:[0-9a-f]{64}$`),
    );
  });
});
