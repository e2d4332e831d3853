/**
 * The policies that guard the security shape of Cloud Run service-to-service calls. They are
 * plain objects, so tests call them directly; only index.ts turns them into a running pack.
 *
 * Which services are meant to be private: every Cloud Run service that does not carry the label
 * `invoker-access: public` (see contract.ts). A service someone adds without the label is thus
 * private, and opening it takes a deliberate, visible change.
 *
 * The policies read resource types by their tokens rather than through the Google Cloud SDK's
 * classes, so the pack starts without loading that SDK.
 */
import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { INVOKER_ACCESS, INVOKER_ACCESS_LABEL, INVOKER_ROLES, PUBLIC_PRINCIPALS } from "./contract";

type Props = Record<string, unknown>;

const CLOUD_RUN_V2_SERVICE = "gcp:cloudrunv2/service:Service";
const CLOUD_RUN_V1_SERVICE = "gcp:cloudrun/service:Service";

/** Cloud Run v1 keeps the switch for the invoker check in an annotation. */
const V1_INVOKER_IAM_DISABLED = "run.googleapis.com/invoker-iam-disabled";

/** How each kind of Cloud Run IAM resource names its service and its principals. */
interface CloudRunIamShape {
  /** The input that names the service. */
  serviceProperty: "name" | "service";
  /** Where the principals are: one `member`, a `members` list, or a JSON `policyData`. */
  principals: "member" | "members" | "policyData";
}

const CLOUD_RUN_IAM: Record<string, CloudRunIamShape> = {
  "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": {
    serviceProperty: "name",
    principals: "member",
  },
  "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding": {
    serviceProperty: "name",
    principals: "members",
  },
  "gcp:cloudrunv2/serviceIamPolicy:ServiceIamPolicy": {
    serviceProperty: "name",
    principals: "policyData",
  },
  "gcp:cloudrun/iamMember:IamMember": { serviceProperty: "service", principals: "member" },
  "gcp:cloudrun/iamBinding:IamBinding": { serviceProperty: "service", principals: "members" },
  "gcp:cloudrun/iamPolicy:IamPolicy": { serviceProperty: "service", principals: "policyData" },
};

/**
 * IAM resources that grant at project level, and at the folder and organization levels above
 * it, which reach even more services.
 */
const BROAD_IAM_SCOPES = ["projects", "folder", "organizations"];
const BROAD_IAM_KINDS = ["IAMMember", "IAMBinding", "IAMPolicy"];

/** The e-mail of a project's default compute service account, which holds Editor by default. */
const DEFAULT_COMPUTE_ACCOUNT = /^\d+-compute@developer\.gserviceaccount\.com$/;

function asProps(value: unknown): Props | undefined {
  return typeof value === "object" && value !== null ? (value as Props) : undefined;
}

function asText(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function asTexts(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === "string")
    : [];
}

function isCloudRunService(type: string): boolean {
  return type === CLOUD_RUN_V2_SERVICE || type === CLOUD_RUN_V1_SERVICE;
}

/** The labels of a v2 service, or of a v1 service's metadata. */
function serviceLabels(type: string, props: Props): Props {
  const holder = type === CLOUD_RUN_V1_SERVICE ? asProps(props.metadata) : props;
  return asProps(holder?.labels) ?? {};
}

function isDeclaredPublic(type: string, props: Props): boolean {
  return serviceLabels(type, props)[INVOKER_ACCESS_LABEL] === INVOKER_ACCESS.public;
}

function isInvokerCheckDisabled(type: string, props: Props): boolean {
  if (type === CLOUD_RUN_V2_SERVICE) return props.invokerIamDisabled === true;
  const annotations = asProps(asProps(props.metadata)?.annotations);
  return annotations?.[V1_INVOKER_IAM_DISABLED] === "true";
}

interface Binding {
  role: string;
  members: string[];
}

/** The bindings of an IAM policy document; a malformed document has none we can read. */
function policyBindings(policyData: unknown): Binding[] {
  const text = asText(policyData);
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  const bindings = asProps(parsed)?.bindings;
  if (!Array.isArray(bindings)) return [];
  return bindings.map((binding) => {
    const fields = asProps(binding) ?? {};
    return { role: asText(fields.role) ?? "", members: asTexts(fields.members) };
  });
}

/** The principals an IAM resource grants to, whatever its role. */
function grantedPrincipals(shape: CloudRunIamShape, props: Props): string[] {
  switch (shape.principals) {
    case "member":
      return [asText(props.member) ?? ""];
    case "members":
      return asTexts(props.members);
    case "policyData":
      return policyBindings(props.policyData).flatMap((binding) => binding.members);
  }
}

/** The last segment of `projects/p/locations/l/services/name`, or the name itself. */
function lastSegment(reference: string): string {
  return reference.slice(reference.lastIndexOf("/") + 1);
}

/**
 * The Cloud Run service an IAM resource applies to: the one its service input was computed
 * from, else the one with that name. Undefined when the stack holds no such service.
 */
function targetService(
  grant: PolicyResource,
  shape: CloudRunIamShape,
  services: PolicyResource[],
): PolicyResource | undefined {
  const fromDependency = (grant.propertyDependencies[shape.serviceProperty] ?? []).find(
    (dependency) => isCloudRunService(dependency.type),
  );
  if (fromDependency !== undefined) return fromDependency;
  const reference = asText(grant.props[shape.serviceProperty]);
  if (reference === undefined) return undefined;
  return services.find((service) => asText(service.props.name) === lastSegment(reference));
}

export const privateServicesKeepInvokerCheck: ResourceValidationPolicy = {
  name: "cloud-run-private-service-keeps-invoker-check",
  description:
    "A Cloud Run service that is not labelled invoker-access: public keeps Cloud Run's IAM invoker check on.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!isCloudRunService(args.type) || isDeclaredPublic(args.type, args.props)) return;
    if (isInvokerCheckDisabled(args.type, args.props)) {
      reportViolation(
        `Cloud Run service "${args.name}" is private but has the invoker IAM check disabled, so anyone who can reach it may call it. ` +
          `Keep invokerIamDisabled off, or label the service ${INVOKER_ACCESS_LABEL}: ${INVOKER_ACCESS.public} if it is meant to be public.`,
      );
    }
  },
};

export const noPublicPrincipalsOnPrivateServices: StackValidationPolicy = {
  name: "cloud-run-private-service-not-public",
  description:
    "No allUsers or allAuthenticatedUsers grant on a Cloud Run service that is not labelled invoker-access: public.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const services = args.resources.filter((resource) => isCloudRunService(resource.type));
    for (const grant of args.resources) {
      const shape = CLOUD_RUN_IAM[grant.type];
      if (shape === undefined) continue;
      const publicPrincipals = grantedPrincipals(shape, grant.props).filter((principal) =>
        PUBLIC_PRINCIPALS.includes(principal),
      );
      if (publicPrincipals.length === 0) continue;
      const service = targetService(grant, shape, services);
      if (service !== undefined && isDeclaredPublic(service.type, service.props)) continue;
      const which =
        service === undefined
          ? "a Cloud Run service this stack does not declare public"
          : `private Cloud Run service "${service.name}"`;
      reportViolation(
        `"${grant.name}" grants ${publicPrincipals.join(" and ")} access to ${which}. ` +
          `Grant roles/run.invoker to the calling service's own account instead.`,
        grant.urn,
      );
    }
  },
};

export const noBroadInvokerGrants: ResourceValidationPolicy = {
  name: "no-project-level-run-invoker",
  description:
    "roles/run.invoker is never granted on a project, folder or organization, only on a single Cloud Run service.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const [scope = "", kind = ""] =
      /^gcp:([a-zA-Z]+)\/[a-zA-Z]+:([a-zA-Z]+)$/.exec(args.type)?.slice(1) ?? [];
    if (!BROAD_IAM_SCOPES.includes(scope) || !BROAD_IAM_KINDS.includes(kind)) return;
    const roles =
      kind === "IAMPolicy"
        ? policyBindings(args.props.policyData).map((binding) => binding.role)
        : [asText(args.props.role) ?? ""];
    for (const role of roles.filter((candidate) => INVOKER_ROLES.includes(candidate))) {
      reportViolation(
        `"${args.name}" grants ${role} on a whole ${scope === "projects" ? "project" : scope}, which lets its members call every Cloud Run service in it. ` +
          `Grant it on the one service instead, with a gcp.cloudrunv2.ServiceIamMember.`,
      );
    }
  },
};

export const servicesRunAsDedicatedAccounts: ResourceValidationPolicy = {
  name: "cloud-run-service-has-dedicated-account",
  description:
    "Every Cloud Run service names its own service account instead of running as the default compute account.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!isCloudRunService(args.type)) return;
    const template = asProps(args.props.template);
    const account =
      args.type === CLOUD_RUN_V2_SERVICE
        ? asText(template?.serviceAccount)
        : asText(asProps(template?.spec)?.serviceAccountName);
    if (account === undefined || account === "") {
      reportViolation(
        `Cloud Run service "${args.name}" names no service account, so it runs as the project's default compute account, which usually holds Editor. ` +
          "Give it a dedicated service account with only the roles it needs.",
      );
    } else if (DEFAULT_COMPUTE_ACCOUNT.test(account)) {
      reportViolation(
        `Cloud Run service "${args.name}" runs as the default compute account ${account}, which usually holds Editor. ` +
          "Give it a dedicated service account with only the roles it needs.",
      );
    }
  },
};

/** Every policy of the pack, in the order they are reported. */
export const POLICIES = [
  noPublicPrincipalsOnPrivateServices,
  privateServicesKeepInvokerCheck,
  noBroadInvokerGrants,
  servicesRunAsDedicatedAccounts,
];
