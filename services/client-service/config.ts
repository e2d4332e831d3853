/** The client's configuration, read once from the environment. */
import { CLIENT_TOKEN_HEADERS, type ClientTokenHeader } from "../wiring";
import { ConfigError, EnvReader, isLoopbackHost } from "../shared/env";

export interface ClientConfig {
  port: number;
  projectId: string | undefined;
  /** The only URL this service ever calls. */
  targetUrl: URL;
  /** The ID token's audience: the target's URL or one of its custom audiences. */
  audience: string;
  /** Which header carries the token to the target, or both. */
  tokenHeader: ClientTokenHeader;
  /** Upper bound for one call to the target, retry included. */
  timeoutMs: number;
}

export function readClientConfig(env: EnvReader): ClientConfig {
  const targetUrl = env.url(
    "TARGET_URL",
    env.required(
      "TARGET_URL",
      "the URL of the service to call, e.g. https://target-abc123-ew.a.run.app",
    ),
  );
  if (targetUrl.protocol === "http:" && !isLoopbackHost(targetUrl.hostname)) {
    // A bearer token sent over plain http could be read by anyone on the path.
    throw new ConfigError(
      "TARGET_URL",
      `must use https unless it points at loopback (got "${targetUrl.href}")`,
    );
  }
  return {
    port: env.port(),
    projectId: env.optional("GOOGLE_CLOUD_PROJECT"),
    targetUrl,
    // The stack decides the audience, as the target must know it too: no default here.
    audience: env.required(
      "TARGET_AUDIENCE",
      "the audience of the client's ID tokens: the target's URL or one of its custom audiences",
    ),
    tokenHeader: env.oneOf("TOKEN_HEADER", CLIENT_TOKEN_HEADERS, "both"),
    timeoutMs: env.integer("TARGET_TIMEOUT_MS", 10_000, { min: 100, max: 300_000 }),
  };
}
