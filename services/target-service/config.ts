/**
 * The target's configuration, read once from the environment.
 *
 * AUTH_MODE has no default on purpose: the operator says whether Cloud Run's IAM check stands
 * in front of the service or the service verifies tokens itself. There is no mode without
 * authentication.
 */
import { ConfigError, EnvReader, emailList } from "../shared/env";
import { TARGET_AUTH_MODES } from "../wiring";
import { DEFAULT_CLOCK_SKEW_SECONDS, GOOGLE_ISSUERS } from "./verification/idToken";

export const GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs";

export interface VerifySettings {
  audiences: string[];
  issuers: string[];
  jwksUrl: string;
  clockSkewSeconds: number;
}

interface CommonConfig {
  port: number;
  projectId: string | undefined;
  /** Lower-cased e-mails allowed to call; empty means "whoever IAM let through" (cloud-run only). */
  allowedInvokers: string[];
}

export type TargetConfig = CommonConfig &
  ({ authMode: "cloud-run" } | { authMode: "verify"; verify: VerifySettings });

const VERIFY_ONLY = ["AUDIENCES", "JWKS_URL", "TOKEN_ISSUER", "CLOCK_SKEW_SECONDS"] as const;

function readVerifySettings(env: EnvReader): VerifySettings {
  const audiences = env.list("AUDIENCES");
  if (audiences.length === 0) {
    throw new ConfigError(
      "AUDIENCES",
      "is required when AUTH_MODE=verify: the target's URL, plus any custom audiences, comma-separated",
    );
  }
  const jwksUrl = env.optional("JWKS_URL");
  const issuer = env.optional("TOKEN_ISSUER");
  if ((jwksUrl === undefined) !== (issuer === undefined)) {
    throw new ConfigError(
      "JWKS_URL",
      "and TOKEN_ISSUER go together: set both to trust another issuer, or neither to trust Google",
    );
  }
  return {
    audiences,
    issuers: issuer === undefined ? [...GOOGLE_ISSUERS] : [issuer],
    jwksUrl: jwksUrl === undefined ? GOOGLE_JWKS_URL : env.url("JWKS_URL", jwksUrl).href,
    clockSkewSeconds: env.integer("CLOCK_SKEW_SECONDS", DEFAULT_CLOCK_SKEW_SECONDS, {
      min: 0,
      max: 300,
    }),
  };
}

export function readTargetConfig(env: EnvReader): TargetConfig {
  const authMode = env.oneOf("AUTH_MODE", TARGET_AUTH_MODES);
  const allowedInvokers = emailList("ALLOWED_INVOKERS", env.list("ALLOWED_INVOKERS"));

  if (authMode === "cloud-run") {
    const stray = VERIFY_ONLY.find((name) => env.optional(name) !== undefined);
    if (stray !== undefined) {
      throw new ConfigError(stray, `only applies when AUTH_MODE=verify (AUTH_MODE is ${authMode})`);
    }
  }
  if (allowedInvokers.length === 0) {
    // Anyone with a Google account can mint an ID token for any audience, so a verifying
    // target without an allow-list would accept the whole internet; one that trusts Cloud Run
    // would accept everyone IAM admits, project Owners and Editors included.
    throw new ConfigError(
      "ALLOWED_INVOKERS",
      "is required: the e-mails of the service accounts that may call",
    );
  }

  const common = {
    port: env.port(),
    projectId: env.optional("GOOGLE_CLOUD_PROJECT"),
    allowedInvokers,
  };
  return authMode === "verify"
    ? { ...common, authMode, verify: readVerifySettings(env) }
    : { ...common, authMode };
}
