/**
 * Merging concurrent calls into one: while a call is under way, every caller gets that same
 * promise; once it settles, the next caller starts a new one. The client's token cache uses it so
 * that a burst of requests costs one token fetch instead of one each.
 */
export function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let inflight: Promise<T> | undefined;
  return () =>
    (inflight ??= run().finally(() => {
      inflight = undefined;
    }));
}
