/**
 * Builds the arguments the Pulumi CLI hands to policies, so tests can call a policy's
 * validateResource or validateStack directly and collect what it reports.
 */
import type {
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";

export interface Violation {
  message: string;
  urn?: string;
}

const NO_OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

function notApplicable(reason?: string): never {
  throw new Error(`policy marked itself not applicable: ${reason ?? ""}`);
}

export function urnOf(type: string, name: string): string {
  return `urn:pulumi:dev::cloud-run-private-calls::${type}::${name}`;
}

/** A resource as the stack validation sees it. */
export function stackResource(
  type: string,
  name: string,
  props: Record<string, unknown>,
  propertyDependencies: Record<string, PolicyResource[]> = {},
): PolicyResource {
  return {
    type,
    name,
    props,
    urn: urnOf(type, name),
    opts: NO_OPTIONS,
    dependencies: Object.values(propertyDependencies).flat(),
    propertyDependencies,
    isType: () => false,
    asType: () => undefined,
  };
}

/** Runs a resource policy on one resource and returns the messages it reported. */
export async function violationsOfResource(
  policy: ResourceValidationPolicy,
  type: string,
  props: Record<string, unknown>,
  name = "resource",
): Promise<string[]> {
  const messages: string[] = [];
  const args: ResourceValidationArgs = {
    type,
    name,
    props,
    urn: urnOf(type, name),
    opts: NO_OPTIONS,
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable,
  };
  const validations = [policy.validateResource ?? []].flat();
  for (const validate of validations) {
    await validate(args, (message) => messages.push(message));
  }
  return messages;
}

/** Runs a stack policy on a set of resources and returns what it reported, with URNs. */
export async function violationsOfStack(
  policy: StackValidationPolicy,
  resources: PolicyResource[],
): Promise<Violation[]> {
  const violations: Violation[] = [];
  await policy.validateStack(
    {
      resources,
      stackTags: new Map(),
      getConfig: <T extends object>() => ({}) as T,
      notApplicable,
    },
    (message, urn) => violations.push(urn === undefined ? { message } : { message, urn }),
  );
  return violations;
}
