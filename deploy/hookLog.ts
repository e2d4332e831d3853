/**
 * Log lines from a hook, attached to the resource the hook runs for. Pulumi's log attaches a
 * line to a resource by awaiting the resource's URN output, and the engine hands that output to
 * the program only after the resource's step, hooks included: a hook that logged through its
 * own resource would wait forever, and hold back every log line after it. A hook is given its
 * resource's URN, so it attaches its lines through that.
 */
import * as pulumi from "@pulumi/pulumi";

export interface HookLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function hookLog(urn: string): HookLog {
  // All Pulumi's log reads of a resource is `urn`; a resource whose URN is already known.
  const about = { urn: pulumi.output(urn) } as unknown as pulumi.Resource;
  return {
    info: (message) => void pulumi.log.info(message, about),
    warn: (message) => void pulumi.log.warn(message, about),
    error: (message) => void pulumi.log.error(message, about),
  };
}
