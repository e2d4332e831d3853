/**
 * ID tokens from Google's metadata server through google-auth-library: on Cloud Run the
 * service's own identity, locally the metadata stand-in named by GCE_METADATA_HOST.
 *
 * The library is loaded on the first token fetch, not at start: it is the largest part of the
 * client's bundle and nothing before the first call to the target needs it, so a cold instance
 * answers its startup probe sooner. The first request pays for loading it once, together with
 * the first token fetch it waits for anyway.
 */
import type { IdTokenClient } from "google-auth-library";
import type { IdTokenFetcher } from "./idTokenCache";

/**
 * A fetcher for one audience. The library's ID-token client is created once, on first use,
 * and reused. If creating it fails (say the metadata server was down at that moment) the
 * failure is not kept: both google-auth-library and gcp-metadata remember a failed detection
 * for the life of the process, so the next attempt starts from a clean slate instead.
 */
export function googleIdTokenFetcher(audience: string): IdTokenFetcher {
  let client: Promise<IdTokenClient> | undefined;
  const create = async (): Promise<IdTokenClient> => {
    const [{ GoogleAuth }, metadata] = await Promise.all([
      import("google-auth-library"),
      import("gcp-metadata"),
    ]);
    try {
      return await new GoogleAuth().getIdTokenClient(audience);
    } catch (error) {
      metadata.resetIsAvailableCache();
      throw error;
    }
  };
  return async () => {
    client ??= create().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return (await client).idTokenProvider.fetchIdToken(audience);
  };
}
