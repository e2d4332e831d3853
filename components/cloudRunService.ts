/**
 * A Cloud Run (v2) service that runs as a service account the caller created for it alone, so
 * the caller can write that account's grants where they are read. The component grants nothing
 * itself, except `roles/run.invoker` to `allUsers` when the caller opens the service that way.
 */
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { Ingress } from "../services/wiring";

/**
 * How a public service lets unauthenticated callers in. `invoker-iam-disabled` switches Cloud
 * Run's invoker check off, which works even where an organization policy forbids granting
 * anything to `allUsers` (domain-restricted sharing); `all-users` grants `roles/run.invoker` to
 * `allUsers` instead.
 */
export const PUBLIC_ACCESS = ["invoker-iam-disabled", "all-users"] as const;
export type PublicAccess = (typeof PUBLIC_ACCESS)[number];

/**
 * How Cloud Run bills the instances: `request-based` allocates CPU only while a request is
 * being served (Cloud Run's `cpuIdle`), `instance-based` for the instance's whole lifetime.
 */
export const BILLING = ["request-based", "instance-based"] as const;
export type Billing = (typeof BILLING)[number];

const CLOUD_RUN_INGRESS: Record<Ingress, string> = {
  all: "INGRESS_TRAFFIC_ALL",
  internal: "INGRESS_TRAFFIC_INTERNAL_ONLY",
};

/** Variables Cloud Run sets itself and refuses in a service definition. */
const RESERVED_ENV = ["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"];

const SERVICE_NAME = /^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface CloudRunServiceArgs {
  /** The Cloud Run service's name: unique per project and region, at most 49 characters. */
  serviceName: string;
  /** The account the service runs as, created for this service alone. */
  serviceAccount: gcp.serviceaccount.Account;
  /** One sentence saying what the service does, shown on the service. */
  description: string;
  /** The region the service runs in, e.g. `europe-west1`. */
  region: string;
  /** The container image to run, by digest. */
  image: pulumi.Input<string>;
  /** The path that answers 200 once the container can serve: probed at start-up and while it runs. */
  healthPath: string;
  /** Environment variables of the container; Cloud Run sets PORT and the K_* variables itself. */
  env?: Record<string, pulumi.Input<string>>;
  /** Who can reach the service over the network: anyone (`all`) or the project's VPC only. */
  ingress: Ingress;
  /** How unauthenticated callers get in; leave it out to keep the invoker IAM check on. */
  publicAccess?: PublicAccess;
  /** An audience accepted in ID tokens besides the service's URL. */
  customAudience?: string;
  /**
   * Whether the service may not be deleted or replaced: the provider refuses it, and Pulumi
   * refuses a destroy or replacement before it deletes anything. Required.
   */
  deletionProtection: boolean;
  /** Bounds on the number of instances. */
  scaling: { minInstances: number; maxInstances: number };
  /** Per-instance CPU (e.g. `1`), memory (e.g. `512Mi`) and requests served at once. */
  resources: { cpu: string; memory: string; concurrency: number };
  /**
   * Request-based (CPU only while serving, Cloud Run's `cpuIdle`) or instance-based. Required:
   * once resource limits are set, Cloud Run's own default is instance-based.
   */
  billing: Billing;
  /** Arguments that replace the image's CMD (its ENTRYPOINT stays); the image's own when left out. */
  containerArgs?: string[];
  /** A subnet the service sends all its egress through, to reach internal-only services. */
  vpcSubnet?: string;
}

export class CloudRunService extends pulumi.ComponentResource {
  /** The component's type token, part of the URN of everything it holds. */
  static readonly TYPE = "cloud-run-private-calls:components:CloudRunService";

  /** The service's dedicated identity. */
  public readonly serviceAccount: gcp.serviceaccount.Account;
  public readonly service: gcp.cloudrunv2.Service;
  /** The service's URL, which is also the ID-token audience Cloud Run accepts by default. */
  public readonly uri: pulumi.Output<string>;

  constructor(name: string, args: CloudRunServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    checkArgs(name, args);
    super(CloudRunService.TYPE, name, {}, opts);

    // Children inherit neither their parent's dependsOn nor its hooks. The service and its
    // public grant call APIs that whatever the component waits for (typically enabling those
    // APIs) must come first, and they fail in the same eventually consistent ways.
    const childOpts: pulumi.CustomResourceOptions = {
      parent: this,
      dependsOn: opts?.dependsOn,
      hooks: opts?.hooks,
    };
    this.serviceAccount = args.serviceAccount;

    this.service = new gcp.cloudrunv2.Service(
      `${name}-service`,
      {
        name: args.serviceName,
        location: args.region,
        description: args.description,
        ingress: CLOUD_RUN_INGRESS[args.ingress],
        invokerIamDisabled: args.publicAccess === "invoker-iam-disabled",
        customAudiences: args.customAudience === undefined ? undefined : [args.customAudience],
        deletionProtection: args.deletionProtection,
        template: {
          serviceAccount: this.serviceAccount.email,
          scaling: {
            minInstanceCount: args.scaling.minInstances,
            maxInstanceCount: args.scaling.maxInstances,
          },
          maxInstanceRequestConcurrency: args.resources.concurrency,
          vpcAccess:
            args.vpcSubnet === undefined
              ? undefined
              : { networkInterfaces: [{ subnetwork: args.vpcSubnet }], egress: "ALL_TRAFFIC" },
          containers: [
            {
              image: args.image,
              args: args.containerArgs,
              envs: Object.entries(args.env ?? {}).map(([envName, value]) => ({
                name: envName,
                value,
              })),
              resources: {
                limits: { cpu: args.resources.cpu, memory: args.resources.memory },
                cpuIdle: args.billing === "request-based",
              },
              // Checked every 2 s for up to 30 s (the timeout must be shorter than the period),
              // so a revision takes traffic soon after it can, and a revision that cannot start
              // fails its deployment instead of serving.
              startupProbe: {
                httpGet: { path: args.healthPath },
                periodSeconds: 2,
                timeoutSeconds: 1,
                failureThreshold: 15,
              },
              livenessProbe: {
                httpGet: { path: args.healthPath },
                periodSeconds: 10,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
            },
          ],
        },
      },
      // Deletion protection is kept twice: by the provider, which refuses the delete itself,
      // and by Pulumi, which refuses a destroy or replacement before it deletes anything else
      // (the provider's refusal would come after the grant and the other service were gone).
      // A service's name is unique in its project and region (Google answers 409 to a second
      // one), so a replacement that keeps the name must delete the old service first.
      { ...childOpts, protect: args.deletionProtection, deleteBeforeReplace: true },
    );

    // Opened to everyone on purpose (args.publicAccess), through the one public principal.
    // Non-authoritative, and replaced with its service: a replaced service starts with an
    // empty IAM policy while this grant's inputs stay the same.
    if (args.publicAccess === "all-users") {
      new gcp.cloudrunv2.ServiceIamMember(
        `${name}-public`,
        {
          project: this.service.project,
          location: this.service.location,
          name: this.service.name,
          role: "roles/run.invoker",
          member: "allUsers",
        },
        { ...childOpts, replaceWith: [this.service] },
      );
    }

    this.uri = this.service.uri;
    this.registerOutputs({ uri: this.uri, serviceAccountEmail: this.serviceAccount.email });
  }
}

/**
 * Checks what config.ts does not: the names, paths and texts index.ts writes itself. The values
 * a user sets (region, ingress, public access, audience, scaling, sizes, billing, subnet,
 * deletion protection) are checked once, where they are read, in config.ts, whose errors name the
 * config key to fix.
 */
function checkArgs(name: string, args: CloudRunServiceArgs): void {
  const fail = (argument: string, problem: string): never => {
    throw new Error(`CloudRunService "${name}": args.${argument} ${problem}`);
  };

  if (!SERVICE_NAME.test(args.serviceName)) {
    fail(
      "serviceName",
      `must be 1-49 lowercase letters, digits or hyphens, starting with a letter (got "${args.serviceName}")`,
    );
  }
  if (!(args.serviceAccount instanceof gcp.serviceaccount.Account)) {
    fail("serviceAccount", "must be a gcp.serviceaccount.Account created for this service");
  }
  if (!args.healthPath.startsWith("/")) {
    fail("healthPath", `must be a path starting with / (got "${args.healthPath}")`);
  }
  if (args.description.trim() === "" || args.description.length > 256) {
    fail("description", "must be one sentence of at most 256 characters");
  }
  for (const envName of Object.keys(args.env ?? {})) {
    if (!ENV_NAME.test(envName)) fail("env", `has an invalid variable name "${envName}"`);
    if (RESERVED_ENV.includes(envName)) fail("env", `must not set ${envName}: Cloud Run sets it`);
  }
  const { containerArgs } = args;
  if (containerArgs !== undefined && (containerArgs.length === 0 || containerArgs.includes(""))) {
    fail("containerArgs", "must hold non-empty arguments, or be left out to keep the image's CMD");
  }
}
