/**
 * The image of one of this repository's services, built from services/Dockerfile (whose SERVICE
 * build argument picks the service's bundle) and pushed to Artifact Registry. It is exposed by
 * its digest, so that Cloud Run rolls out a new revision exactly when the image's content
 * changes.
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

/** Built with the Pulumi project's folder as its context: the Dockerfile's paths start there. */
const DOCKERFILE = "services/Dockerfile";

export interface ContainerImageArgs {
  /** The Artifact Registry Docker repository, e.g. `europe-west1-docker.pkg.dev/my-project/s2s`. */
  registry: pulumi.Input<string>;
  /** Whether `pulumi preview` builds the image too (without pushing it). */
  buildOnPreview: boolean;
}

export class ContainerImage extends pulumi.ComponentResource {
  /** The pushed image by digest (`repository/name@sha256:…`): what Cloud Run should run. */
  public readonly digestReference: pulumi.Output<string>;

  /** `service` names the image and the bundle it runs: `target` or `client`. */
  constructor(
    service: "target" | "client",
    args: ContainerImageArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("cloud-run-private-calls:components:ContainerImage", service, {}, opts);

    const imageName = pulumi.interpolate`${args.registry}/${service}`;
    // The registry host is the first segment of the repository URL.
    const registryServer = pulumi.output(args.registry).apply((url) => url.split("/")[0] ?? "");
    const accessToken = gcp.organizations.getClientConfigOutput({ parent: this }).accessToken;

    const image = new docker.Image(
      `${service}-image`,
      {
        imageName,
        buildOnPreview: args.buildOnPreview,
        build: {
          context: ".",
          dockerfile: DOCKERFILE,
          platform: CLOUD_RUN_PLATFORM,
          args: { SERVICE: service },
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
    this.registerOutputs({ digestReference: this.digestReference });
  }
}
