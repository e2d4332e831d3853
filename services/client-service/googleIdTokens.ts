/**
 * ID tokens from Google's metadata server through google-auth-library's `Compute` client: on
 * Cloud Run the service's own identity, locally the metadata stand-in named by
 * GCE_METADATA_HOST.
 *
 * `Compute` is the client `GoogleAuth` settles on in Cloud Run, and the only one this service
 * may use: it is taken directly, from its own module, rather than through `GoogleAuth`'s
 * detection. That loads the metadata client and the code it needs, not the library's index,
 * which loads every other kind of credential (service-account keys, impersonation, workload
 * identity federation for AWS, Azure and others) and would let a credential file found on the
 * machine win over the service's own identity. It also leaves nothing to remember a failed
 * detection for the life of the process: every fetch asks the metadata server afresh.
 *
 * Its HTTP client, gaxios, is given Node.js's own fetch, which it loads anyway for the Headers
 * it builds every request with; otherwise it would load node-fetch as well, and with it a
 * polyfill of web streams, for one request an hour. build.mjs leaves those out of the bundle.
 *
 * Loaded by the first token fetch, not at start: nothing before the first call to the target
 * needs it, so a cold instance answers its startup probe sooner; the first request pays for
 * loading it once, together with the first token fetch it waits for anyway.
 */
import type { IdTokenFetcher } from "./idTokenCache";

/** A fetcher for one audience, with one `Compute` client created on first use. */
export function googleIdTokenFetcher(audience: string): IdTokenFetcher {
  let client: Promise<{ fetchIdToken(audience: string): Promise<string> }> | undefined;
  return async () => {
    client ??= Promise.all([
      import("google-auth-library/build/src/auth/computeclient"),
      import("gaxios"),
    ]).then(([{ Compute }, { instance }]) => {
      // The metadata client sends its requests through gaxios's shared instance.
      instance.defaults.fetchImplementation = fetch;
      return new Compute();
    });
    return (await client).fetchIdToken(audience);
  };
}
