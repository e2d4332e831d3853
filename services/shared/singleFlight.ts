/**
 * Merging concurrent calls into one: while a call is under way, every caller gets that same
 * promise; once it settles, the next caller starts a new one. This is how a burst of requests
 * costs one token fetch or one key-set fetch instead of one each.
 */
export function singleFlight<T>(run: () => Promise<T>): () => Promise<T> {
  let inflight: Promise<T> | undefined;
  return () =>
    (inflight ??= run().finally(() => {
      inflight = undefined;
    }));
}
