/**
 * The policies that guard the security shape of Cloud Run service-to-service calls. They are
 * plain objects, so tests call them directly; only index.ts turns them into a running pack.
 *
 * The pack judges what the resources do, never what they say about themselves:
 * - a Cloud Run service is a **target** when the stack grants an invoker role on it to a named
 *   principal, or wires its URL into another Cloud Run service; a target stays private;
 * - a **runtime account** is a service account a Cloud Run service in the stack runs as; it holds
 *   nothing but invoker grants on Cloud Run services, nobody is granted anything on it, and it
 *   serves one service only.
 * Resources are linked by the dependencies Pulumi records (which also hold during a first
 * preview, before any e-mail or URL is known) and, failing that, by name or e-mail.
 *
 * The policies read resource types by their tokens rather than through the Google Cloud SDK's
 * classes, so the pack starts without loading that SDK.
 */
import {
  type PolicyResource,
  type ReportViolation,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationArgs,
  type StackValidationPolicy,
  UnknownValueError,
} from "@pulumi/policy";
import { INVOKER_ROLES, PUBLIC_PRINCIPALS } from "./contract";
import { targetVerifiesTokens } from "./targetVerification";

type Props = Record<string, unknown>;

const CLOUD_RUN_V2_SERVICE = "gcp:cloudrunv2/service:Service";
const CLOUD_RUN_V1_SERVICE = "gcp:cloudrun/service:Service";
const SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account";

/** Cloud Run v1 keeps the switch for the invoker check in an annotation. */
const V1_INVOKER_IAM_DISABLED = "run.googleapis.com/invoker-iam-disabled";

/** Any IAM resource of the Google provider: `…IamMember`, `…IAMBinding`, `…IamPolicy`. */
const IAM_RESOURCE =
  /^gcp:([a-zA-Z0-9]+)\/[a-zA-Z0-9]+:[a-zA-Z0-9]*?(?:Iam|IAM)(Member|Binding|Policy)$/;

/** The IAM resources that grant on one Cloud Run service, and the input naming the service. */
const CLOUD_RUN_IAM_SCOPES: Record<string, "name" | "service"> = {
  cloudrunv2: "name",
  cloudrun: "service",
};

/** IAM on these scopes reaches every Cloud Run service below them. */
const BROAD_SCOPES: Record<string, string> = {
  projects: "project",
  folder: "folder",
  organizations: "organization",
};

/** Project-wide roles that let their holders call or take over every Cloud Run service. */
const BROAD_ROLES: readonly string[] = [
  "roles/owner",
  "roles/editor",
  "roles/run.admin",
  ...INVOKER_ROLES,
];

/** The e-mail of a project's default compute service account, which holds Editor by default. */
const DEFAULT_COMPUTE_ACCOUNT = /^\d+-compute@developer\.gserviceaccount\.com$/;

/**
 * A value that may be unknown during a preview (an e-mail or URL that exists only once its
 * resource does): undefined then, so that the links Pulumi records between resources decide.
 */
function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return undefined;
    throw error;
  }
}

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

function isInvokerCheckDisabled(resource: { type: string; props: Props }): boolean {
  if (resource.type === CLOUD_RUN_V2_SERVICE) return resource.props.invokerIamDisabled === true;
  const annotations = asProps(asProps(resource.props.metadata)?.annotations);
  return annotations?.[V1_INVOKER_IAM_DISABLED] === "true";
}

/** The account e-mail a Cloud Run service runs as, when it names one. */
function runAsEmail(type: string, props: Props): string | undefined {
  const template = asProps(props.template);
  const email =
    type === CLOUD_RUN_V2_SERVICE
      ? asText(template?.serviceAccount)
      : asText(asProps(template?.spec)?.serviceAccountName);
  return email === "" ? undefined : email;
}

/** One role held by one principal, as an IAM resource grants it. */
interface Grant {
  role: string;
  member: string;
}

/** The grants of an IAM policy document; a malformed document has none we can read. */
function policyGrants(policyData: unknown): Grant[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(asText(policyData) ?? "");
  } catch {
    return [];
  }
  const bindings = asProps(parsed)?.bindings;
  if (!Array.isArray(bindings)) return [];
  return bindings.flatMap((binding) => {
    const fields = asProps(binding) ?? {};
    const role = asText(fields.role) ?? "";
    return asTexts(fields.members).map((member) => ({ role, member }));
  });
}

/** What an IAM resource is, where it grants, and what. */
interface IamResource {
  resource: PolicyResource;
  /** The provider module: `cloudrunv2`, `projects`, `serviceaccount`, `artifactregistry`, … */
  scope: string;
  kind: "Member" | "Binding" | "Policy";
  grants: Grant[];
  /** The resources the principals were computed from (the account behind `account.member`). */
  memberDependencies: PolicyResource[];
}

function iamResource(resource: PolicyResource): IamResource | undefined {
  const match = IAM_RESOURCE.exec(resource.type);
  if (match === null) return undefined;
  const [, scope = "", kind = "Member"] = match;
  const { props } = resource;
  // Principals computed from other resources are unknown during a first preview: they read as
  // "" here and are identified through `memberDependencies` instead.
  const role = known(() => asText(props.role)) ?? "";
  let grants: Grant[];
  if (kind === "Policy") grants = known(() => policyGrants(props.policyData)) ?? [];
  else if (kind === "Binding") {
    grants = (known(() => asTexts(props.members)) ?? [""]).map((member) => ({ role, member }));
  } else grants = [{ role, member: known(() => asText(props.member)) ?? "" }];
  const memberDependencies = ["member", "members", "policyData"].flatMap(
    (property) => resource.propertyDependencies[property] ?? [],
  );
  return {
    resource,
    scope,
    kind: kind as IamResource["kind"],
    grants,
    memberDependencies,
  };
}

/** The last segment of `projects/p/locations/l/services/name`, or the name itself. */
function lastSegment(reference: string): string {
  return reference.slice(reference.lastIndexOf("/") + 1);
}

/** What the stack holds, linked: the views every stack policy below works from. */
class StackView {
  readonly services: PolicyResource[];
  readonly iam: IamResource[];

  constructor(resources: PolicyResource[]) {
    this.services = resources.filter((resource) => isCloudRunService(resource.type));
    this.iam = resources.flatMap((resource) => iamResource(resource) ?? []);
  }

  /**
   * The Cloud Run service an IAM resource grants on, when it is one in this stack: the one its
   * service input was computed from, else the one with that name.
   */
  cloudRunServiceOf(iam: IamResource): PolicyResource | undefined {
    const property = CLOUD_RUN_IAM_SCOPES[iam.scope];
    if (property === undefined) return undefined;
    const fromDependency = (iam.resource.propertyDependencies[property] ?? []).find((dependency) =>
      isCloudRunService(dependency.type),
    );
    if (fromDependency !== undefined) return fromDependency;
    const reference = known(() => asText(iam.resource.props[property]));
    if (reference === undefined) return undefined;
    return this.services.find(
      (service) => known(() => asText(service.props.name)) === lastSegment(reference),
    );
  }

  /** A service someone was given the right to call, or whose URL another service calls. */
  isTarget(service: PolicyResource): boolean {
    const namedInvoker = this.iam.some(
      (iam) =>
        this.cloudRunServiceOf(iam) === service &&
        iam.grants.some(
          (grant) =>
            INVOKER_ROLES.includes(grant.role) && !PUBLIC_PRINCIPALS.includes(grant.member),
        ),
    );
    const calledByAnother = this.services.some(
      (caller) =>
        caller !== service && (caller.propertyDependencies.template ?? []).includes(service),
    );
    return namedInvoker || calledByAnother;
  }

  /** The service accounts the stack's Cloud Run services run as, with the services they serve. */
  runtimeAccounts(): RuntimeAccount[] {
    const accounts: RuntimeAccount[] = [];
    for (const service of this.services) {
      const resource = (service.propertyDependencies.template ?? []).find(
        (dependency) => dependency.type === SERVICE_ACCOUNT,
      );
      const email =
        known(() => runAsEmail(service.type, service.props)) ??
        known(() => asText(resource?.props.email));
      const seen = accounts.find(
        (account) =>
          (resource !== undefined && account.resource === resource) ||
          (email !== undefined && account.email === email),
      );
      if (seen !== undefined) seen.services.push(service);
      else if (resource !== undefined || email !== undefined) {
        accounts.push({ resource, email, services: [service] });
      }
    }
    return accounts;
  }
}

interface RuntimeAccount {
  /** The account resource, when the stack creates it. */
  resource: PolicyResource | undefined;
  email: string | undefined;
  services: PolicyResource[];
}

function accountName(account: RuntimeAccount): string {
  return account.email ?? account.resource?.name ?? "a runtime account";
}

/** Whether a principal, or the value it was computed from, is this runtime account. */
function namesAccount(iam: IamResource, grant: Grant, account: RuntimeAccount): boolean {
  if (account.email !== undefined && grant.member === `serviceAccount:${account.email}`)
    return true;
  return account.resource !== undefined && iam.memberDependencies.includes(account.resource);
}

/** Whether a service-account IAM resource grants on this runtime account. */
function isOnAccount(iam: IamResource, account: RuntimeAccount): boolean {
  if (iam.scope !== "serviceaccount") return false;
  const onAccount = iam.resource.propertyDependencies.serviceAccountId ?? [];
  if (account.resource !== undefined && onAccount.includes(account.resource)) return true;
  const reference = known(() => asText(iam.resource.props.serviceAccountId));
  return (
    account.email !== undefined &&
    reference !== undefined &&
    lastSegment(reference) === account.email
  );
}

export const targetsKeepInvokerCheck: StackValidationPolicy = {
  name: "cloud-run-target-keeps-invoker-check",
  description:
    "A Cloud Run service that the stack grants an invoker role on, or calls from another service, keeps Cloud Run's IAM invoker check on.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const view = new StackView(args.resources);
    for (const service of view.services) {
      if (isInvokerCheckDisabled(service) && view.isTarget(service)) {
        reportViolation(
          `Cloud Run service "${service.name}" is called by named principals or another service, yet has the invoker IAM check disabled, so anyone who can reach it may call it. ` +
            "Keep invokerIamDisabled off on a target; only a service nobody calls may be public.",
          service.urn,
        );
      }
    }
  },
};

export const publicPrincipalsOnlyInvokePublicServices: StackValidationPolicy = {
  name: "public-principals-only-invoke-a-public-service",
  description:
    "allUsers and allAuthenticatedUsers are granted nothing but the invoker role, with a single member, on a Cloud Run service of this stack that no one else calls.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const view = new StackView(args.resources);
    for (const iam of view.iam) {
      const service = view.cloudRunServiceOf(iam);
      for (const grant of iam.grants.filter((candidate) =>
        PUBLIC_PRINCIPALS.includes(candidate.member),
      )) {
        const allowed =
          service !== undefined &&
          !view.isTarget(service) &&
          iam.kind === "Member" &&
          INVOKER_ROLES.includes(grant.role);
        if (allowed) continue;
        const where =
          service === undefined
            ? `the ${iam.scope} resource it names`
            : view.isTarget(service)
              ? `Cloud Run service "${service.name}", which others are granted to call`
              : `Cloud Run service "${service.name}"`;
        reportViolation(
          `"${iam.resource.name}" grants ${grant.role || "a role"} to ${grant.member} on ${where}. ` +
            "Only a public service may be opened, and only with roles/run.invoker in a single-member grant; grant other access to named principals.",
          iam.resource.urn,
        );
      }
    }
  },
};

export const runtimeAccountsHoldOnlyInvokerGrants: StackValidationPolicy = {
  name: "runtime-accounts-hold-only-invoker-grants",
  description:
    "The service accounts Cloud Run services run as hold nothing but invoker roles on Cloud Run services, and nobody is granted any role on them.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    const view = new StackView(args.resources);
    for (const account of view.runtimeAccounts()) {
      for (const iam of view.iam) {
        if (isOnAccount(iam, account)) {
          reportViolation(
            `"${iam.resource.name}" grants roles on runtime account ${accountName(account)}, letting its members act as or manage a service's identity. ` +
              "Grant nothing on the accounts Cloud Run services run as.",
            iam.resource.urn,
          );
          continue;
        }
        const onCloudRun = CLOUD_RUN_IAM_SCOPES[iam.scope] !== undefined;
        for (const grant of iam.grants.filter((candidate) =>
          namesAccount(iam, candidate, account),
        )) {
          if (onCloudRun && INVOKER_ROLES.includes(grant.role)) continue;
          reportViolation(
            `"${iam.resource.name}" grants ${grant.role || "a role"} on the ${iam.scope} resource it names to runtime account ${accountName(account)}. ` +
              "A service's account holds only roles/run.invoker on the one service it calls.",
            iam.resource.urn,
          );
        }
      }
    }
  },
};

export const runtimeAccountServesOneService: StackValidationPolicy = {
  name: "runtime-account-serves-one-service",
  description: "No two Cloud Run services run as the same service account.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
    for (const account of new StackView(args.resources).runtimeAccounts()) {
      if (account.services.length < 2) continue;
      reportViolation(
        `Cloud Run services ${account.services.map((service) => `"${service.name}"`).join(" and ")} run as the same account ${accountName(account)}, so each holds whatever the other is granted. ` +
          "Give each service a dedicated service account.",
        account.services[1]!.urn,
      );
    }
  },
};

export const noAuthoritativeCloudRunIam: ResourceValidationPolicy = {
  name: "no-authoritative-cloud-run-iam",
  description:
    "Cloud Run IAM is granted one member at a time (ServiceIamMember), never with bindings or policies that replace every other member.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const match = IAM_RESOURCE.exec(args.type);
    if (match === null || CLOUD_RUN_IAM_SCOPES[match[1] ?? ""] === undefined) return;
    if (match[2] === "Member") return;
    reportViolation(
      `"${args.name}" is an authoritative IAM ${match[2]?.toLowerCase()} on a Cloud Run service: it replaces every member granted elsewhere and can silently add or drop invokers. ` +
        "Use gcp.cloudrunv2.ServiceIamMember, one member per grant.",
    );
  },
};

export const noBroadGrants: ResourceValidationPolicy = {
  name: "no-project-level-run-or-owner-roles",
  description:
    "Owner, Editor, run.admin and the invoker roles are never granted on a project, folder or organization, where they reach every Cloud Run service.",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const iam = iamResource({ ...args, propertyDependencies: {}, dependencies: [] });
    const scope = BROAD_SCOPES[iam?.scope ?? ""];
    if (iam === undefined || scope === undefined) return;
    const roles = new Set(
      iam.grants.map((grant) => grant.role).filter((role) => BROAD_ROLES.includes(role)),
    );
    for (const role of roles) {
      reportViolation(
        `"${args.name}" grants ${role} on a whole ${scope}, which reaches every Cloud Run service in it. ` +
          "Grant roles/run.invoker on the one service instead, with a gcp.cloudrunv2.ServiceIamMember.",
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
    const account = runAsEmail(args.type, args.props);
    if (account === undefined) {
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
  targetsKeepInvokerCheck,
  publicPrincipalsOnlyInvokePublicServices,
  runtimeAccountsHoldOnlyInvokerGrants,
  runtimeAccountServesOneService,
  noAuthoritativeCloudRunIam,
  noBroadGrants,
  servicesRunAsDedicatedAccounts,
  targetVerifiesTokens,
];
