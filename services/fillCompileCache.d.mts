/** The configuration each service starts with while its compile cache is filled. */
export const WARM_UP_ENVIRONMENTS: Record<"target" | "client", Record<string, string>>;

/** Starts `node <nodeArgs>` as `service` with the cache in `cacheDir`; resolves once it wrote one. */
export function fillCompileCache(
  service: "target" | "client",
  cacheDir: string,
  nodeArgs: readonly string[],
): Promise<void>;
