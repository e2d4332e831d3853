/**
 * What the deployed stack and the local stack (`npm start`) must agree on: the two services'
 * account ids and e-mails, and the environment each service runs with. Both index.ts and
 * local/stack.ts build these values here, so what runs on a laptop cannot drift from what is
 * deployed.
 *
 * The builders are generic in the value type: the Pulumi program passes outputs (a URL that is
 * only known once the target exists), the local stack passes strings.
 */

/** Both services answer 200 here once they can serve; Cloud Run and the local stack probe it. */
export const HEALTH_PATH = "/health";

/** The header the client carries its ID token in. */
export const TOKEN_HEADERS = ["authorization", "x-serverless-authorization"] as const;
export type TokenHeader = (typeof TOKEN_HEADERS)[number];

/**
 * Behind Cloud Run's IAM check the target trusts the front end's verification and reads the
 * caller from the forwarded token; this is the only mode either stack runs it in.
 */
const TARGET_AUTH_MODE = "cloud-run";

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
  const account = (id: string) => ({ id, email: serviceAccountEmail(id, projectId) });
  return { target: account(`${prefix}-target`), client: account(`${prefix}-client`) };
}

export interface TargetWiring<Value> {
  projectId: Value;
  /** The client's service-account e-mail: the one caller the target admits. */
  clientEmail: Value;
}

/** The target's environment: it reads the caller Cloud Run verified and admits only the client. */
export function targetEnvironment<Value>({ projectId, clientEmail }: TargetWiring<Value>) {
  return {
    GOOGLE_CLOUD_PROJECT: projectId,
    AUTH_MODE: TARGET_AUTH_MODE,
    ALLOWED_INVOKERS: clientEmail,
  };
}

export interface ClientWiring<Value> {
  projectId: Value;
  /** The target's URL: the only URL the client ever calls. */
  targetUrl: Value;
  /** The ID token's audience: the target's URL, or a custom audience the target accepts. */
  audience: Value;
  tokenHeader: TokenHeader;
}

/** The client's environment: where the target is and which audience its token is for. */
export function clientEnvironment<Value>(wiring: ClientWiring<Value>) {
  return {
    GOOGLE_CLOUD_PROJECT: wiring.projectId,
    TARGET_URL: wiring.targetUrl,
    TARGET_AUDIENCE: wiring.audience,
    TOKEN_HEADER: wiring.tokenHeader,
  };
}
