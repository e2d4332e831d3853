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
import { POLICIES } from "../../policy/policies";
import type { Registration } from "../helpers/pulumiMocks";

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

/** The stack's custom resources as stack policies see them: outputs, linked by dependency. */
export function asPolicyResources(registrations: Registration[]): PolicyResource[] {
  const custom = registrations.filter((registration) => registration.custom);
  const byUrn = new Map<string, PolicyResource>();
  for (const registration of custom) {
    byUrn.set(
      registration.urn,
      stackResource(registration.type, registration.name, registration.outputs),
    );
  }
  for (const registration of custom) {
    const resource = byUrn.get(registration.urn)!;
    for (const [property, urns] of Object.entries(registration.propertyDependencies)) {
      resource.propertyDependencies[property] = urns.flatMap((urn) => byUrn.get(urn) ?? []);
    }
  }
  return [...byUrn.values()];
}

/**
 * Every violation the pack reports on what a program registered, as `pulumi preview
 * --policy-pack policy` would run it: resource policies on each resource's inputs, stack
 * policies on the linked outputs. Each entry starts with the policy's name.
 */
export async function packViolations(registrations: Registration[]): Promise<string[]> {
  const resources = asPolicyResources(registrations);
  const reported: string[] = [];
  for (const policy of POLICIES) {
    if ("validateStack" in policy) {
      const violations = await violationsOfStack(policy, resources);
      reported.push(...violations.map((violation) => `${policy.name}: ${violation.message}`));
      continue;
    }
    for (const registration of registrations.filter((r) => r.custom)) {
      const messages = await violationsOfResource(
        policy,
        registration.type,
        registration.inputs,
        registration.name,
      );
      reported.push(...messages.map((message) => `${policy.name}: ${message}`));
    }
  }
  return reported;
}
