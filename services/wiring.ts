/**
 * What the deployed stack and the local stack (`npm start`) must agree on: the two services'
 * account ids and e-mails, the environment and command line each service runs with, and the
 * health path Cloud Run probes. Both index.ts and
 * local/stack.ts build these values here, so what runs on a laptop cannot drift from what is
 * deployed.
 *
 * The builders are generic in the value type: the Pulumi program passes outputs (a URL that is
 * only known once the target exists), the local stack passes strings.
 */
import { nodeFlags } from "./nodeCommand";
import { TOKEN_HEADERS, type TokenHeader } from "./shared/tokenHeaders";

/** Both services answer 200 here once they can serve; Cloud Run and the local stack probe it. */
export const HEALTH_PATH = "/health";

/** The one header the client carries its ID token in when the target does not verify it. */
export { TOKEN_HEADERS, type TokenHeader } from "./shared/tokenHeaders";

/**
 * Where the client puts its ID token: in one header, or in both, `X-Serverless-Authorization`
 * for Cloud Run's front end and `Authorization` for the target's own check.
 */
export const CLIENT_TOKEN_HEADERS = ["both", ...TOKEN_HEADERS] as const;
export type ClientTokenHeader = (typeof CLIENT_TOKEN_HEADERS)[number];

/**
 * How the target authenticates callers (its AUTH_MODE). `verify`, the default: it verifies
 * every token's signature, audience and issuer itself, so it refuses everyone but the client
 * even if Cloud Run's invoker check is off. `cloud-run`: it trusts Cloud Run's check and only
 * reads the caller from the forwarded token.
 */
export const TARGET_AUTH_MODES = ["verify", "cloud-run"] as const;
export type TargetAuthMode = (typeof TARGET_AUTH_MODES)[number];

/** Who can reach a service over the network: anyone (`all`), or only the project's VPC. */
export const INGRESS = ["all", "internal"] as const;
export type Ingress = (typeof INGRESS)[number];

/** The two Cloud Run services, `<prefix>-target` and `<prefix>-client`. */
export function serviceNames(prefix: string): { target: string; client: string } {
  return { target: `${prefix}-target`, client: `${prefix}-client` };
}

export interface ServiceAccount {
  /** The id the account is created with, 6–30 characters. */
  id: string;
  /** The e-mail Google gives an account with that id in the project. */
  email: string;
}

/**
 * The e-mail Google gives the service account `accountId` in `projectId`. A domain-scoped
 * project id, `example.com:my-project`, puts the domain after the project's own name:
 * `<id>@my-project.example.com.iam.gserviceaccount.com`.
 */
export function serviceAccountEmail(accountId: string, projectId: string): string {
  const separator = projectId.lastIndexOf(":");
  const host =
    separator === -1
      ? projectId
      : `${projectId.slice(separator + 1)}.${projectId.slice(0, separator)}`;
  return `${accountId}@${host}.iam.gserviceaccount.com`;
}

/**
 * The target's and the client's service accounts, `<prefix>-target` and `<prefix>-client`,
 * with the e-mails Google gives them in `projectId`: known before the accounts exist.
 */
export function serviceAccounts(
  prefix: string,
  projectId: string,
): { target: ServiceAccount; client: ServiceAccount } {
  // Each account is named as the service that runs as it.
  const names = serviceNames(prefix);
  const account = (id: string) => ({ id, email: serviceAccountEmail(id, projectId) });
  return { target: account(names.target), client: account(names.client) };
}

export interface TargetWiring<Value> {
  /** The Google Cloud project the services run in. */
  project: Value;
  /** The client's service-account e-mail: the one caller the target admits. */
  clientEmail: Value;
  targetAuthMode: TargetAuthMode;
  /** The one audience a verifying target accepts: what the client asks its tokens for. */
  audience: Value;
}

/** The target's environment: it admits only the client, checking tokens as `targetAuthMode` says. */
export function targetEnvironment<Value>({
  project,
  clientEmail,
  targetAuthMode,
  audience,
}: TargetWiring<Value>) {
  return {
    GOOGLE_CLOUD_PROJECT: project,
    AUTH_MODE: targetAuthMode,
    ALLOWED_INVOKERS: clientEmail,
    ...(targetAuthMode === "verify" && { AUDIENCES: audience }),
  };
}

export interface ClientWiring<Value> {
  /** The Google Cloud project the services run in. */
  project: Value;
  /** The target's URL: the only URL the client ever calls. */
  targetUrl: Value;
  /** The ID token's audience: the target's URL, or a custom audience the target accepts. */
  audience: Value;
  /** A verifying target needs the token in both headers; otherwise `tokenHeader` says where. */
  targetAuthMode: TargetAuthMode;
  tokenHeader: TokenHeader;
}

/** Where the client puts its token for a target in `authMode`. */
export function clientTokenHeader(
  authMode: TargetAuthMode,
  tokenHeader: TokenHeader,
): ClientTokenHeader {
  return authMode === "verify" ? "both" : tokenHeader;
}

/** The client's environment: where the target is and which audience its token is for. */
export function clientEnvironment<Value>(wiring: ClientWiring<Value>) {
  return {
    GOOGLE_CLOUD_PROJECT: wiring.project,
    TARGET_URL: wiring.targetUrl,
    TARGET_AUDIENCE: wiring.audience,
    TOKEN_HEADER: clientTokenHeader(wiring.targetAuthMode, wiring.tokenHeader),
  };
}

/**
 * What follows `node` in a service's image for an instance with `memory`: the heap flags of
 * services/nodeCommand.ts's rule, then the bundle. The stack sets it as the container's args.
 */
export function imageArguments(memory: string): string[] {
  return [...nodeFlags(memory), "server.js"];
}
