/**
 * Builds the arguments the Pulumi CLI hands to policies, so tests can call a policy's
 * validateResource or validateStack directly and collect what it reports.
 *
 * Properties reach a policy as the pack's server hands them over: wrapped in @pulumi/policy's
 * own proxy, which throws UnknownValueError when a policy reads a value unknown during a
 * preview. The server turns that error into a "can't run during preview" advisory and skips
 * the policy; here it becomes an entry of its own, so a test sees every skipped policy. A policy
 * that declares itself not applicable gets an entry of its own too.
 */
import {
  type Policies,
  type PolicyProviderResource,
  type PolicyResource,
  type PolicyResourceOptions,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  UnknownValueError,
  unknownCheckingProxy as untypedUnknownCheckingProxy,
} from "@pulumi/policy";
import { packPolicies } from "../../policy/policies";
import { type StackIntent, stackIntent } from "../../policy/stackIntent";
import { type MockedEngine, PULUMI_PROJECT, REGION } from "../helpers/pulumiMocks";

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

/** What the pack's server reports in place of a policy that read an unknown value. */
export const SKIPPED = "can't run during preview";
/** What a policy that declared itself not applicable to a resource reports here. */
export const NOT_APPLICABLE = "not applicable";

class NotApplicable extends Error {}

function notApplicable(reason?: string): never {
  throw new NotApplicable(reason ?? "");
}

/** The pack's policies as the running pack builds them, with the stack's intent given. */
export function policiesWith(intent: StackIntent | undefined): Policies {
  return packPolicies(() => intent);
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

/** What the pack's server reports in place of a policy that stopped without a verdict. */
function stopped(error: unknown): string {
  if (error instanceof UnknownValueError) return `${SKIPPED}: ${(error as Error).message}`;
  if (error instanceof NotApplicable) return `${NOT_APPLICABLE}: ${error.message}`;
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
      messages.push(stopped(error));
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
    violations.push({ message: stopped(error) });
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

/** One thing the pack reported on a program's resources. */
export interface PackReport {
  policy: string;
  /**
   * When the policy judged: a resource policy on each resource before it is created, a stack
   * policy on the whole stack, which `pulumi up` runs only once everything exists.
   */
  moment: "before creation" | "whole stack";
  message: string;
}

/** Whether a report refuses something, rather than saying a policy could not judge. */
export function isRefusal(report: PackReport): boolean {
  return !report.message.startsWith(SKIPPED) && !report.message.startsWith(NOT_APPLICABLE);
}

/**
 * Everything the pack reports on what a program registered, as `pulumi up` or a first
 * `pulumi preview` with `--policy-pack policy` runs it (the engine's mode): resource policies on
 * each resource's inputs, stack policies on the linked outputs. The pack is given the intent the
 * program's own config states, as the CLI hands it that config; a test may give another, or none.
 */
export async function packReports(
  engine: MockedEngine,
  { intent }: { intent: StackIntent | undefined } = {
    intent: stackIntent(engine.config, PULUMI_PROJECT),
  },
): Promise<PackReport[]> {
  const resources = asPolicyResources(engine);
  const custom = engine.registrations.filter((registration) => registration.custom);
  const reports: PackReport[] = [];
  for (const policy of policiesWith(intent)) {
    if ("validateStack" in policy) {
      const violations = await violationsOfStack(policy, resources);
      reports.push(
        ...violations.map(({ message }) => ({
          policy: policy.name,
          moment: "whole stack" as const,
          message,
        })),
      );
      continue;
    }
    for (const registration of custom) {
      const messages = await violationsOfResource(
        policy,
        registration.type,
        registration.inputs,
        registration.name,
        providerOf(registration.type, engine),
      );
      reports.push(
        ...messages.map((message) => ({
          policy: policy.name,
          moment: "before creation" as const,
          message,
        })),
      );
    }
  }
  return reports;
}
