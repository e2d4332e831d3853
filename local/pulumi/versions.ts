/** The plugin versions the stand-ins answer as: those the program's pinned packages ask for. */

/** `@pulumi/gcp`'s version, whose provider plugin the gcp stand-in stands in for. */
export const GCP_VERSION = "9.37.0";
/** `@pulumi/docker`'s version. */
export const DOCKER_VERSION = "5.2.0";
/** `@pulumi/pulumi`'s version: the language host and the dynamic provider match it. */
export const PULUMI_VERSION = "3.276.0";
