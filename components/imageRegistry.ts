/**
 * The Artifact Registry repository that holds the stack's images, with its cleanup settings:
 * those belong to the registry, not to the images built into it.
 */
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";

/** How many image versions the registry keeps, and when it drops untagged ones. */
export interface ImageRetention {
  keepVersions: number;
  deleteUntaggedAfterDays: number;
}

/** Where the registry is, and how it keeps images: read from the stack's configuration. */
export interface ImageRegistrySettings {
  namePrefix: string;
  region: string;
  imageRetention: ImageRetention;
}

/** A Docker repository `<namePrefix>-images` in `region`, cleaned up as `imageRetention` says. */
export function imageRegistry(
  { namePrefix, region, imageRetention }: ImageRegistrySettings,
  opts: pulumi.CustomResourceOptions,
): gcp.artifactregistry.Repository {
  return new gcp.artifactregistry.Repository(
    "images",
    {
      repositoryId: `${namePrefix}-images`,
      location: region,
      format: "DOCKER",
      ...imageCleanup(imageRetention),
    },
    opts,
  );
}

/**
 * The cleanup settings of an Artifact Registry repository holding these images: the newest
 * `keepVersions` versions of each image stay (the running revisions' images among them), and
 * versions no tag points at any more go after `deleteUntaggedAfterDays`. A KEEP policy wins
 * over a DELETE one, so no kept version is ever deleted. Dry run is off: the policies act.
 */
function imageCleanup(
  retention: ImageRetention,
): Pick<gcp.artifactregistry.RepositoryArgs, "cleanupPolicies" | "cleanupPolicyDryRun"> {
  return {
    cleanupPolicyDryRun: false,
    cleanupPolicies: [
      {
        id: "keep-recent-versions",
        action: "KEEP",
        mostRecentVersions: { keepCount: retention.keepVersions },
      },
      {
        id: "delete-old-untagged",
        action: "DELETE",
        condition: { tagState: "UNTAGGED", olderThan: `${retention.deleteUntaggedAfterDays}d` },
      },
    ],
  };
}
