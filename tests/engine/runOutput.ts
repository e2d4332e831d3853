/** What a Pulumi CLI run did, read from its output as a user reads it. */

export type Operation = "created" | "updated" | "replaced" | "deleted";

/**
 * The operation each resource went through, by its name in the program, from lines such as
 * ` ~  gcp:cloudrunv2:Service target-service updated (0.01s) [diff: ~template]`.
 */
export function operations(output: string): Record<string, Operation> {
  const done: Record<string, Operation> = {};
  const line = /^\s*[-+~]{1,2}\s+\S+ (\S+) (created|updated|replaced|deleted)\b/gm;
  for (const match of output.matchAll(line)) {
    const [, name, operation] = match;
    // A replacement prints "created replacement" and "replaced": the latter is what happened.
    if (done[name!] !== "replaced") done[name!] = operation as Operation;
  }
  return done;
}

/** The names of the resources that went through `operation`, sorted. */
export function namesThat(output: string, operation: Operation): string[] {
  return Object.entries(operations(output))
    .filter(([, done]) => done === operation)
    .map(([name]) => name)
    .sort();
}
