/**
 * The one declaration of which services exist and who may invoke whom.
 *
 * The Pulumi program turns it into service accounts, Cloud Run services and IAM grants; the
 * local stand-ins turn it into identities and the front end's allow-list. Because both read
 * this file, what runs on a laptop cannot drift from what is deployed.
 */

export interface ServiceDeclaration {
  /** One sentence for descriptions and service-account display names. */
  description: string;
  /**
   * Who may call the service: `"public"` (anyone; no IAM invoker check) or the services whose
   * service accounts are granted `roles/run.invoker` on it.
   */
  invokers: "public" | readonly string[];
  /** The service this one calls, if any; its URL becomes TARGET_URL and the token audience. */
  calls?: string;
  /** The bundle (dist/<bundle>.js) and image that run the service. */
  bundle: string;
}

export type Topology = Readonly<Record<string, ServiceDeclaration>>;

export const TOPOLOGY: Topology = {
  target: {
    description: "Private target: answers only callers holding roles/run.invoker on it",
    invokers: ["client"],
    bundle: "target",
  },
  client: {
    description: "Public client: calls the target with its own identity",
    invokers: "public",
    calls: "target",
    bundle: "client",
  },
};

/** Service-account ids must be 6–30 characters: lowercase letters, digits and hyphens. */
const ACCOUNT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** The service account id of a service, e.g. `s2s-target`. */
export function serviceAccountId(prefix: string, service: string): string {
  const id = `${prefix}-${service}`;
  if (!ACCOUNT_ID.test(id)) {
    throw new Error(
      `service account id "${id}" is invalid: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter`,
    );
  }
  return id;
}

/** The e-mail Google gives a service account created with `accountId` in `projectId`. */
export function serviceAccountEmail(accountId: string, projectId: string): string {
  return `${accountId}@${projectId}.iam.gserviceaccount.com`;
}

/** The services allowed to invoke `service`; empty for a public service. */
export function invokersOf(topology: Topology, service: string): readonly string[] {
  const declaration = topology[service];
  if (declaration === undefined) throw new Error(`unknown service "${service}"`);
  if (declaration.invokers === "public") return [];
  for (const invoker of declaration.invokers) {
    if (topology[invoker] === undefined) {
      throw new Error(`service "${service}" names unknown invoker "${invoker}"`);
    }
  }
  return declaration.invokers;
}

export function isPublic(topology: Topology, service: string): boolean {
  return topology[service]?.invokers === "public";
}

/**
 * How every service image is built: one parameterised Dockerfile, the repository root as the
 * context, and a build argument naming the bundle. The Pulumi program passes exactly these to
 * `docker.Image`, and the container test builds with them.
 */
export const IMAGE_BUILD = {
  context: ".",
  dockerfile: "services/Dockerfile",
  bundleArg: "SERVICE",
} as const;

/** Prefix of service-account ids unless the stack configures another. */
export const DEFAULT_NAME_PREFIX = "s2s";
