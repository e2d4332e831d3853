/**
 * A container image built from this repository and pushed to Artifact Registry, exposed by its
 * digest so that Cloud Run rolls out a new revision exactly when the image's content changes.
 */
import * as docker from "@pulumi/docker";
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** Cloud Run runs x86-64 only; building for it explicitly keeps Apple-silicon builds startable. */
export const CLOUD_RUN_PLATFORM = "linux/amd64";

/**
 * Artifact Registry accepts an OAuth access token as a Docker password under this fixed user
 * name, so the image is pushed as whoever runs `pulumi up`, with no key or helper to set up.
 */
export const ACCESS_TOKEN_USERNAME = "oauth2accesstoken";

const IMAGE_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ContainerImageArgs {
  /** The Artifact Registry Docker repository, e.g. `europe-west1-docker.pkg.dev/my-project/s2s`. */
  repositoryUrl: pulumi.Input<string>;
  /** The image's name inside the repository: lowercase letters, digits, `.`, `_` and `-`. */
  imageName: string;
  /** The build context directory, relative to the Pulumi project. */
  context: string;
  /** The Dockerfile, relative to the Pulumi project. */
  dockerfile: string;
  /** Build arguments passed to the Dockerfile's `ARG`s. */
  buildArgs?: Record<string, string>;
  /** Whether `pulumi preview` builds the image too (without pushing it). */
  buildOnPreview: boolean;
}

export class ContainerImage extends pulumi.ComponentResource {
  /** The pushed image by digest (`repository/name@sha256:…`): what Cloud Run should run. */
  public readonly digestReference: pulumi.Output<string>;
  /** The image's name in the repository, for people; it stays the same from build to build. */
  public readonly imageName: pulumi.Output<string>;

  constructor(name: string, args: ContainerImageArgs, opts?: pulumi.ComponentResourceOptions) {
    checkArgs(name, args);
    super("cloud-run-private-calls:components:ContainerImage", name, {}, opts);

    const imageName = pulumi.interpolate`${args.repositoryUrl}/${args.imageName}`;
    // The registry host is the first segment of the repository URL.
    const registryServer = pulumi
      .output(args.repositoryUrl)
      .apply((url) => url.split("/")[0] ?? "");
    const accessToken = gcp.organizations.getClientConfigOutput({ parent: this }).accessToken;

    const image = new docker.Image(
      `${name}-image`,
      {
        imageName,
        buildOnPreview: args.buildOnPreview,
        build: {
          context: args.context,
          dockerfile: args.dockerfile,
          platform: CLOUD_RUN_PLATFORM,
          args: args.buildArgs ?? {},
        },
        registry: {
          server: registryServer,
          username: ACCESS_TOKEN_USERNAME,
          password: pulumi.secret(accessToken),
        },
      },
      { parent: this },
    );

    this.digestReference = image.repoDigest;
    this.imageName = image.imageName;
    this.registerOutputs({
      digestReference: this.digestReference,
      imageName: this.imageName,
    });
  }
}

function checkArgs(name: string, args: ContainerImageArgs): void {
  const fail = (argument: string, problem: string): never => {
    throw new Error(`ContainerImage "${name}": args.${argument} ${problem}`);
  };
  if (!IMAGE_NAME.test(args.imageName)) {
    fail(
      "imageName",
      `must be lowercase letters and digits, optionally separated by ".", "_" or "-" (got "${args.imageName}")`,
    );
  }
  if (args.context.trim() === "") fail("context", "must name a directory");
  if (args.dockerfile.trim() === "") fail("dockerfile", "must name a file");
  if (typeof args.buildOnPreview !== "boolean") fail("buildOnPreview", "must be true or false");
  for (const key of Object.keys(args.buildArgs ?? {})) {
    if (!BUILD_ARG_NAME.test(key)) fail("buildArgs", `has an invalid argument name "${key}"`);
  }
}
