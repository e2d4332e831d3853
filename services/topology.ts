/**
 * The one declaration of which services exist and who may invoke whom.
 *
 * The Pulumi program turns it into service accounts, Cloud Run services and IAM grants; the
 * local stand-ins turn it into identities and the front end's allow-list. Because both read
 * this file, what runs on a laptop cannot drift from what is deployed.
 */
import type { AuthMode } from "./target/config";

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
export const ACCOUNT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

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

/** The services in an order where each comes after the service it calls, whose URL it needs. */
export function callOrder(topology: Topology): string[] {
  const ordered: string[] = [];
  const visit = (service: string, path: readonly string[]): void => {
    if (ordered.includes(service)) return;
    if (path.includes(service)) {
      throw new Error(`services call each other in a cycle: ${[...path, service].join(" → ")}`);
    }
    const callee = topology[service]?.calls;
    if (callee !== undefined) {
      if (topology[callee] === undefined) {
        throw new Error(`service "${service}" calls unknown service "${callee}"`);
      }
      visit(callee, [...path, service]);
    }
    ordered.push(service);
  };
  for (const service of Object.keys(topology)) visit(service, []);
  return ordered;
}

/**
 * Behind Cloud Run's IAM check, a private service trusts the front end's verification and reads
 * the caller from the forwarded token. Nothing deploys any other mode.
 */
export const PRIVATE_AUTH_MODE: AuthMode = "cloud-run";

/** What a service's environment is made from, wherever it runs. */
export interface EnvironmentFacts<Value> {
  projectId: Value;
  /** The invokers' service-account e-mails, comma-separated (private services only). */
  allowedInvokers: Value;
  /** The called service's URL and the token audience for it (calling services only). */
  callee?: { url: Value; audience: Value };
}

/**
 * The environment variables a service runs with, the same in the Pulumi program (where the
 * values are outputs) and in the local stack (where they are strings). A private service sits
 * behind Cloud Run's IAM check, so it reads the caller Cloud Run verified (AUTH_MODE=cloud-run)
 * and admits only its declared invokers; a calling service gets its callee's URL and audience.
 */
export function serviceEnvironment<Value>(
  topology: Topology,
  service: string,
  facts: EnvironmentFacts<Value>,
): Record<string, Value | string> {
  const declaration = topology[service];
  if (declaration === undefined) throw new Error(`unknown service "${service}"`);
  if (declaration.calls !== undefined && facts.callee === undefined) {
    throw new Error(
      `service "${service}" calls "${declaration.calls}" but was given no URL for it`,
    );
  }
  return {
    GOOGLE_CLOUD_PROJECT: facts.projectId,
    ...(!isPublic(topology, service) && {
      AUTH_MODE: PRIVATE_AUTH_MODE,
      ALLOWED_INVOKERS: facts.allowedInvokers,
    }),
    ...(declaration.calls !== undefined &&
      facts.callee && { TARGET_URL: facts.callee.url, TARGET_AUDIENCE: facts.callee.audience }),
  };
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
