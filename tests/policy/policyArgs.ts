/**
 * Builds the arguments the Pulumi CLI hands to policies, so tests can call a policy's
 * validateResource or validateStack directly and collect what it reports.
 *
 * Properties reach a policy as the pack's server hands them over: wrapped in @pulumi/policy's
 * own proxy, which throws UnknownValueError when a policy reads a value unknown during a
 * preview. The server turns that error into a "can't run during preview" advisory and skips
 * the policy; here it becomes an entry of its own, so a test sees every skipped policy.
 */
import {
  type PolicyProviderResource,
  type PolicyResource,
  type PolicyResourceOptions,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  UnknownValueError,
  unknownCheckingProxy as untypedUnknownCheckingProxy,
} from "@pulumi/policy";
import { POLICIES } from "../../policy/policies";
import { type MockedEngine, REGION } from "../helpers/pulumiMocks";

type Props = Record<string, unknown>;

/** The proxy the pack's server wraps every resource's properties in; the SDK types it as any. */
const unknownCheckingProxy = untypedUnknownCheckingProxy as (props: Props) => Props;

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

/**
 * The Google provider a resource is created with, as the engine describes it to policies: the
 * stack's default provider, configured with `gcp:project` and `gcp:region`.
 */
export function googleProvider(project: string): PolicyProviderResource {
  return {
    type: "pulumi:providers:gcp",
    name: "default",
    urn: urnOf("pulumi:providers:gcp", "default"),
    props: { project, region: REGION },
  };
}

/** A resource as the stack validation sees it. */
export function stackResource(
  type: string,
  name: string,
  props: Props,
  propertyDependencies: Record<string, PolicyResource[]> = {},
  provider?: PolicyProviderResource,
): PolicyResource {
  return {
    type,
    name,
    props: unknownCheckingProxy(props),
    urn: urnOf(type, name),
    opts: NO_OPTIONS,
    dependencies: Object.values(propertyDependencies).flat(),
    propertyDependencies,
    isType: () => false,
    asType: () => undefined,
    ...(provider === undefined ? {} : { provider }),
  };
}

/** What the pack's server reports in place of a policy that read an unknown value. */
function skipped(error: unknown): string {
  if (error instanceof UnknownValueError)
    return `can't run during preview: ${(error as Error).message}`;
  throw error;
}

/** Runs a resource policy on one resource and returns the messages it reported. */
export async function violationsOfResource(
  policy: ResourceValidationPolicy,
  type: string,
  props: Props,
  name = "resource",
  provider?: PolicyProviderResource,
): Promise<string[]> {
  const messages: string[] = [];
  const args: ResourceValidationArgs = {
    type,
    name,
    props: unknownCheckingProxy(props),
    urn: urnOf(type, name),
    ...(provider === undefined ? {} : { provider }),
    opts: NO_OPTIONS,
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable,
  };
  const validations = [policy.validateResource ?? []].flat();
  for (const validate of validations) {
    try {
      await validate(args, (message) => messages.push(message));
    } catch (error) {
      messages.push(skipped(error));
    }
  }
  return messages;
}

/** Runs a stack policy on a set of resources and returns what it reported, with URNs. */
export async function violationsOfStack(
  policy: StackValidationPolicy,
  resources: PolicyResource[],
): Promise<Violation[]> {
  const violations: Violation[] = [];
  try {
    await policy.validateStack(
      {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable,
      },
      (message, urn) => violations.push(urn === undefined ? { message } : { message, urn }),
    );
  } catch (error) {
    violations.push({ message: skipped(error) });
  }
  return violations;
}

/** The Google provider of a resource the engine registered, if it is a Google resource. */
function providerOf(type: string, engine: MockedEngine): PolicyProviderResource | undefined {
  return type.startsWith("gcp:") ? googleProvider(engine.project) : undefined;
}

/**
 * The stack's custom resources as stack policies see them, linked by dependency: their
 * outputs, which in a first preview are the inputs with every computed output unknown.
 */
export function asPolicyResources(engine: MockedEngine): PolicyResource[] {
  const custom = engine.registrations.filter((registration) => registration.custom);
  const byUrn = new Map<string, PolicyResource>();
  for (const registration of custom) {
    byUrn.set(
      registration.urn,
      stackResource(
        registration.type,
        registration.name,
        registration.outputs,
        {},
        providerOf(registration.type, engine),
      ),
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
 * Every violation the pack reports on what a program registered, as `pulumi up` or a first
 * `pulumi preview` with `--policy-pack policy` runs it (the engine's mode): resource policies on
 * each resource's inputs, stack policies on the linked outputs. Each entry starts with the
 * policy's name; a policy that could not run on an unknown value is an entry too.
 */
export async function packViolations(engine: MockedEngine): Promise<string[]> {
  const { registrations } = engine;
  const resources = asPolicyResources(engine);
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
        providerOf(registration.type, engine),
      );
      reported.push(...messages.map((message) => `${policy.name}: ${message}`));
    }
  }
  return reported;
}
