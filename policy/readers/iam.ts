/** What an IAM resource grants, to whom, and where, read from its properties. */
import type { PolicyResource } from "@pulumi/policy";
import {
  DEFAULT_COMPUTE_ACCOUNT,
  IAM_RESOURCE,
  INVOKER_ROLES,
  PUBLIC_PRINCIPALS,
} from "../vocabulary";
import {
  asProps,
  asText,
  items,
  lastSegment,
  type Maybe,
  type Props,
  read,
  text,
  UNKNOWN,
} from "./properties";

/** One role held by one principal, as an IAM resource grants it. */
export interface Grant {
  role: Maybe<string>;
  member: Maybe<string>;
}

/** A resource as a policy sees it, at resource time or within the stack. */
export interface JudgedResource {
  name: string;
  type: string;
  urn: string;
  props: Props;
}

/** What an IAM resource is, where it grants, and what. */
export interface IamResource {
  resource: JudgedResource;
  /** The provider module: `cloudrunv2`, `projects`, `serviceaccount`, `artifactregistry`, … */
  scope: string;
  kind: "Member" | "Binding" | "Policy";
  grants: Grant[];
  /** For each input, the resources its value was computed from (none for one resource alone). */
  propertyDependencies: PolicyResource["propertyDependencies"];
  /** The resources the principals were computed from (the account behind `account.member`). */
  memberDependencies: PolicyResource[];
}

/** The IAM resources that grant on one Cloud Run service, and the input naming the service. */
const CLOUD_RUN_IAM_SCOPES: Record<string, "name" | "service"> = {
  cloudrunv2: "name",
  cloudrun: "service",
};

export function isCloudRunIamScope(scope: string): boolean {
  return CLOUD_RUN_IAM_SCOPES[scope] !== undefined;
}

/** The input of a Cloud Run IAM resource that names its service, if it is one. */
export function serviceInput(iam: IamResource): "name" | "service" | undefined {
  return CLOUD_RUN_IAM_SCOPES[iam.scope];
}

/**
 * The name of the Cloud Run service an IAM resource grants on: UNKNOWN, or undefined when it is
 * not Cloud Run IAM or names none.
 */
export function grantedServiceName(iam: IamResource): Maybe<string | undefined> {
  const property = serviceInput(iam);
  if (property === undefined) return undefined;
  const reference = text(() => iam.resource.props[property]);
  return typeof reference === "string" ? lastSegment(reference) : reference;
}

export function isPublic(member: Maybe<string>): boolean {
  // Public principals are spelled out; an unknown member is computed from a resource.
  return member !== UNKNOWN && PUBLIC_PRINCIPALS.includes(member);
}

export function isInvokerRole(role: Maybe<string>): boolean {
  return role !== UNKNOWN && INVOKER_ROLES.includes(role);
}

/** The account e-mail a `serviceAccount:` principal names, if it is one. */
export function accountEmailOf(member: Maybe<string>): string | undefined {
  return member !== UNKNOWN && member.startsWith("serviceAccount:")
    ? member.slice("serviceAccount:".length)
    : undefined;
}

export function isDefaultComputeAccount(member: Maybe<string>): boolean {
  return DEFAULT_COMPUTE_ACCOUNT.test(accountEmailOf(member) ?? "");
}

export function describeRole(role: Maybe<string>): string {
  return role === UNKNOWN ? "a role not known at preview" : role || "a role";
}

export function describeMember(member: Maybe<string>): string {
  return member === UNKNOWN ? "a principal not known at preview" : member;
}

/**
 * The grants of an IAM policy document. A document still unknown grants an unknown role to an
 * unknown member; a malformed one has none we can read (and the provider refuses it).
 */
function policyGrants(policyData: Maybe<string | undefined>): Grant[] {
  if (policyData === UNKNOWN) return [{ role: UNKNOWN, member: UNKNOWN }];
  let parsed: unknown;
  try {
    parsed = JSON.parse(policyData ?? "");
  } catch {
    return [];
  }
  const bindings = asProps(parsed)?.bindings;
  if (!Array.isArray(bindings)) return [];
  return bindings.flatMap((binding) => {
    const fields = asProps(binding) ?? {};
    const role = asText(fields.role) ?? "";
    const members = Array.isArray(fields.members) ? fields.members : [];
    return members.flatMap((member) => (typeof member === "string" ? [{ role, member }] : []));
  });
}

/** The resource as an IAM resource, or undefined when it is none. */
export function iamResource(
  resource: JudgedResource,
  propertyDependencies: PolicyResource["propertyDependencies"] = {},
): IamResource | undefined {
  const match = IAM_RESOURCE.exec(resource.type);
  if (match === null) return undefined;
  const [, scope = "", kind = "Member"] = match;
  const { props } = resource;
  const textOrUnknown = (value: Maybe<unknown>): Maybe<string> =>
    value === UNKNOWN ? UNKNOWN : (asText(value) ?? "");
  const role = textOrUnknown(read(() => props.role));
  let grants: Grant[];
  if (kind === "Policy") grants = policyGrants(text(() => props.policyData));
  else if (kind === "Binding") {
    grants = items(() => props.members).map((member) => ({ role, member: textOrUnknown(member) }));
  } else grants = [{ role, member: textOrUnknown(read(() => props.member)) }];
  const memberDependencies = ["member", "members", "policyData"].flatMap(
    (property) => propertyDependencies[property] ?? [],
  );
  return {
    resource,
    scope,
    kind: kind as IamResource["kind"],
    grants,
    propertyDependencies,
    memberDependencies,
  };
}
