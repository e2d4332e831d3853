/**
 * The policies that guard the security shape of Cloud Run service-to-service calls. They are
 * plain objects, so tests call them directly; only index.ts turns them into a running pack.
 *
 * The pack judges what the resources do, never what they say about themselves:
 * - a Cloud Run service is a **target** when the stack grants an invoker role on it to a named
 *   principal, or wires its URL into another Cloud Run service (its **caller**);
 * - a **runtime account** is a service account a Cloud Run service in the stack runs as.
 *
 * Two moments matter. Under `pulumi up` the CLI runs resource policies on each resource before
 * creating it, and stack policies only once everything exists; so every rule that one resource
 * shows is a resource policy, which stops the edit in time. During a first `pulumi preview`
 * nothing exists yet: e-mails, URLs and names computed by Google are unknown, and the pack's
 * server skips any policy that reads one (with a "can't run during preview" advisory). So no
 * policy here reads a value without saying what an unknown one means: refused, allowed (and
 * judged elsewhere, as said where it happens), or derived from what the program does know.
 * Accounts are linked by the dependencies Pulumi records, by their e-mail output, and by the
 * e-mail Google derives from their account id and project, which the program knows at preview.
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
import { serviceAccountEmail } from "../services/wiring";
import { INVOKER_ROLES, PUBLIC_PRINCIPALS } from "./contract";
import { CLOUD_RUN_V1_SERVICE, CLOUD_RUN_V2_SERVICE, SERVICE_ACCOUNT } from "./resourceTypes";
import { targetVerifiesTokens } from "./targetVerification";

type Props = Record<string, unknown>;

/** Cloud Run v1 keeps these settings in annotations. */
const V1_INVOKER_IAM_DISABLED = "run.googleapis.com/invoker-iam-disabled";
const V1_INGRESS = "run.googleapis.com/ingress";
const V1_VPC_EGRESS = "run.googleapis.com/vpc-access-egress";

/**
 * The ingress settings the stack offers: reachable from anywhere, or from the project's VPC
 * only. `INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER` is not among them: it also admits external
 * Application Load Balancers, so it is not internal.
 */
const INGRESS_ALL = "INGRESS_TRAFFIC_ALL";
const INGRESS_INTERNAL_ONLY = "INGRESS_TRAFFIC_INTERNAL_ONLY";
const ALLOWED_INGRESS: readonly string[] = [INGRESS_ALL, INGRESS_INTERNAL_ONLY];
/** Cloud Run v1's annotation values, by the v2 setting each means. */
const V1_INGRESS_VALUES: Record<string, string> = {
  all: INGRESS_ALL,
  internal: INGRESS_INTERNAL_ONLY,
  "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
};

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

/** The e-mail of a project's default compute service account, which holds Editor by default. */
const DEFAULT_COMPUTE_ACCOUNT = /^\d+-compute@developer\.gserviceaccount\.com$/;

/** What a value reads as during a preview when Google has not computed it yet. */
const UNKNOWN: unique symbol = Symbol("unknown during preview");
type Maybe<T> = T | typeof UNKNOWN;

/** Reads a property, turning the pack server's "unknown during preview" error into UNKNOWN. */
function read<T>(get: () => T): Maybe<T> {
  try {
    return get();
  } catch (error) {
    if (error instanceof UnknownValueError) return UNKNOWN;
    throw error;
  }
}

function asProps(value: unknown): Props | undefined {
  return typeof value === "object" && value !== null ? (value as Props) : undefined;
}

function asText(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A text property: its value, UNKNOWN, or undefined when absent or not text. */
function text(get: () => unknown): Maybe<string | undefined> {
  const value = read(get);
  return value === UNKNOWN ? UNKNOWN : asText(value);
}

/** The items of a list property, each read on its own: a list can hold a few unknown items. */
function items(get: () => unknown): Maybe<unknown>[] {
  const list = read(get);
  if (list === UNKNOWN) return [UNKNOWN];
  if (!Array.isArray(list)) return [];
  // Array methods would read every item through the pack's proxy at once; read them one by one.
  return Array.from({ length: list.length }, (_, index) => read(() => list[index] as unknown));
}

function isCloudRunService(type: string): boolean {
  return type === CLOUD_RUN_V2_SERVICE || type === CLOUD_RUN_V1_SERVICE;
}

function v1Annotation(props: Props, annotation: string): Maybe<string | undefined> {
  return text(() => asProps(asProps(props.metadata)?.annotations)?.[annotation]);
}

/** Whether a service switches Cloud Run's invoker check off; unknown counts as off. */
function isInvokerCheckDisabled(resource: { type: string; props: Props }): boolean {
  const disabled =
    resource.type === CLOUD_RUN_V2_SERVICE
      ? read(() => resource.props.invokerIamDisabled)
      : v1Annotation(resource.props, V1_INVOKER_IAM_DISABLED);
  return disabled === UNKNOWN || disabled === true || disabled === "true";
}

/** A service's ingress as Cloud Run v2 spells it; undefined when the service sets none. */
function ingressOf(type: string, props: Props): Maybe<string | undefined> {
  if (type === CLOUD_RUN_V2_SERVICE) return text(() => props.ingress);
  const annotation = v1Annotation(props, V1_INGRESS);
  if (annotation === UNKNOWN) return UNKNOWN;
  // Without the annotation Cloud Run v1 admits all traffic.
  return annotation === undefined ? INGRESS_ALL : (V1_INGRESS_VALUES[annotation] ?? annotation);
}

/** Whether a service sends all its egress through a VPC; unknown counts as yes. */
function sendsAllEgressThroughVpc(service: PolicyResource): boolean {
  const egress =
    service.type === CLOUD_RUN_V2_SERVICE
      ? text(() => asProps(asProps(service.props.template)?.vpcAccess)?.egress)
      : v1Annotation(service.props, V1_VPC_EGRESS);
  return egress === UNKNOWN || egress === "ALL_TRAFFIC" || egress === "all-traffic";
}

/** The account e-mail a Cloud Run service runs as: UNKNOWN, or undefined when it names none. */
function runAsEmail(type: string, props: Props): Maybe<string | undefined> {
  const email = text(() => {
    const template = asProps(props.template);
    return type === CLOUD_RUN_V2_SERVICE
      ? template?.serviceAccount
      : asProps(template?.spec)?.serviceAccountName;
  });
  return email === "" ? undefined : email;
}

/** One role held by one principal, as an IAM resource grants it. */
interface Grant {
  role: Maybe<string>;
  member: Maybe<string>;
}

function isPublic(member: Maybe<string>): boolean {
  // Public principals are spelled out; an unknown member is computed from a resource.
  return member !== UNKNOWN && PUBLIC_PRINCIPALS.includes(member);
}

function isInvokerRole(role: Maybe<string>): boolean {
  return role !== UNKNOWN && INVOKER_ROLES.includes(role);
}

/** The account e-mail a `serviceAccount:` principal names, if it is one. */
function accountEmailOf(member: Maybe<string>): string | undefined {
  return member !== UNKNOWN && member.startsWith("serviceAccount:")
    ? member.slice("serviceAccount:".length)
    : undefined;
}

function isDefaultComputeAccount(member: Maybe<string>): boolean {
  return DEFAULT_COMPUTE_ACCOUNT.test(accountEmailOf(member) ?? "");
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

/** What an IAM resource is, where it grants, and what. */
interface IamResource {
  resource: { name: string; type: string; urn: string; props: Props };
  /** The provider module: `cloudrunv2`, `projects`, `serviceaccount`, `artifactregistry`, … */
  scope: string;
  kind: "Member" | "Binding" | "Policy";
  grants: Grant[];
  /** For each input, the resources its value was computed from (none for one resource alone). */
  propertyDependencies: PolicyResource["propertyDependencies"];
  /** The resources the principals were computed from (the account behind `account.member`). */
  memberDependencies: PolicyResource[];
}

function iamResource(
  resource: IamResource["resource"],
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

/** The last segment of `projects/p/locations/l/services/name`, or the name itself. */
function lastSegment(reference: string): string {
  return reference.slice(reference.lastIndexOf("/") + 1);
}

function describeRole(role: Maybe<string>): string {
  return role === UNKNOWN ? "a role not known at preview" : role || "a role";
}

function describeMember(member: Maybe<string>): string {
  return member === UNKNOWN ? "a principal not known at preview" : member;
}

/**
 * The project an account is created in: its own `project` input, else its provider's. The
 * provider may take the project from the environment (GOOGLE_PROJECT) instead, and then the
 * pack does not know it.
 */
function projectOf(account: PolicyResource): string | undefined {
  const own = text(() => account.props.project);
  if (typeof own === "string" && own !== "") return own;
  const fromProvider = text(() => account.provider?.props.project);
  return typeof fromProvider === "string" && fromProvider !== "" ? fromProvider : undefined;
}

/**
 * Whether `email` is the service account resource's: its e-mail output, or the e-mail Google
 * gives its account id in its project. With the project unknown, an e-mail with the account's
 * id in any project counts as the account's, so that an unknown project never hides a grant.
 */
function isEmailOfAccount(email: string, account: PolicyResource): boolean {
  if (text(() => account.props.email) === email) return true;
  const accountId = text(() => account.props.accountId);
  if (typeof accountId !== "string") return false;
  const project = projectOf(account);
  if (project !== undefined) return email === serviceAccountEmail(accountId, project);
  return email.startsWith(`${accountId}@`) && email.endsWith(".iam.gserviceaccount.com");
}

interface RuntimeAccount {
  /** The account resource, when the stack creates it. */
  resource: PolicyResource | undefined;
  /** The e-mail a service names, when it is spelled out. */
  email: string | undefined;
  services: PolicyResource[];
}

function accountName(account: RuntimeAccount): string {
  return account.email ?? account.resource?.name ?? "a runtime account";
}

/** Whether a principal, or the value it was computed from, is this runtime account. */
function namesAccount(iam: IamResource, grant: Grant, account: RuntimeAccount): boolean {
  if (grant.member === UNKNOWN) {
    return account.resource !== undefined && iam.memberDependencies.includes(account.resource);
  }
  const email = accountEmailOf(grant.member);
  if (email === undefined) return false;
  return (
    email === account.email ||
    (account.resource !== undefined && isEmailOfAccount(email, account.resource))
  );
}

/** What the stack holds, linked: the views every stack policy below works from. */
class StackView {
  readonly services: PolicyResource[];
  readonly accounts: PolicyResource[];
  readonly iam: IamResource[];
  /** The runtime accounts, and the services whose account the pack cannot identify. */
  readonly runtime: { accounts: RuntimeAccount[]; unidentified: PolicyResource[] };

  constructor(resources: PolicyResource[]) {
    this.services = resources.filter((resource) => isCloudRunService(resource.type));
    this.accounts = resources.filter((resource) => resource.type === SERVICE_ACCOUNT);
    this.iam = resources.flatMap(
      (resource) => iamResource(resource, resource.propertyDependencies) ?? [],
    );
    this.runtime = this.linkRuntimeAccounts();
  }

  /**
   * The Cloud Run service an IAM resource grants on, when it is one in this stack: the one its
   * service input was computed from, else the one with that name.
   */
  cloudRunServiceOf(iam: IamResource): PolicyResource | undefined {
    const property = CLOUD_RUN_IAM_SCOPES[iam.scope];
    if (property === undefined) return undefined;
    const fromDependency = (iam.propertyDependencies[property] ?? []).find((dependency) =>
      isCloudRunService(dependency.type),
    );
    if (fromDependency !== undefined) return fromDependency;
    const reference = text(() => iam.resource.props[property]);
    if (typeof reference !== "string") return undefined;
    return this.services.find(
      (service) => text(() => service.props.name) === lastSegment(reference),
    );
  }

  /** The services whose configuration was computed from `service`'s: its URL, typically. */
  callersOf(service: PolicyResource): PolicyResource[] {
    return this.services.filter(
      (caller) =>
        caller !== service && (caller.propertyDependencies.template ?? []).includes(service),
    );
  }

  /** The grants of an invoker role on `service` to principals other than the public ones. */
  namedInvokers(service: PolicyResource): { iam: IamResource; grant: Grant }[] {
    return this.iam
      .filter((iam) => this.cloudRunServiceOf(iam) === service)
      .flatMap((iam) =>
        iam.grants
          .filter((grant) => isInvokerRole(grant.role) && !isPublic(grant.member))
          .map((grant) => ({ iam, grant })),
      );
  }

  /** A service someone was given the right to call, or whose URL another service calls. */
  isTarget(service: PolicyResource): boolean {
    return this.namedInvokers(service).length > 0 || this.callersOf(service).length > 0;
  }

  targets(): PolicyResource[] {
    return this.services.filter((service) => this.isTarget(service));
  }

  /** The runtime account a service runs as, if the pack could identify it. */
  accountOf(service: PolicyResource): RuntimeAccount | undefined {
    return this.runtime.accounts.find((account) => account.services.includes(service));
  }

  private linkRuntimeAccounts(): StackView["runtime"] {
    const accounts: RuntimeAccount[] = [];
    const unidentified: PolicyResource[] = [];
    for (const service of this.services) {
      const runAs = runAsEmail(service.type, service.props);
      // A service without an account is refused by cloud-run-service-has-dedicated-account.
      if (runAs === undefined) continue;
      const email = runAs === UNKNOWN ? undefined : runAs;
      const resource =
        (service.propertyDependencies.template ?? []).find(
          (dependency) => dependency.type === SERVICE_ACCOUNT,
        ) ??
        (email === undefined
          ? undefined
          : this.accounts.find((account) => isEmailOfAccount(email, account)));
      if (resource === undefined && email === undefined) {
        unidentified.push(service);
        continue;
      }
      const seen = accounts.find(
        (account) =>
          (resource !== undefined && account.resource === resource) ||
          (email !== undefined && account.email === email),
      );
      if (seen !== undefined) {
        seen.services.push(service);
        seen.email ??= email;
      } else accounts.push({ resource, email, services: [service] });
    }
    return { accounts, unidentified };
  }
}

/**
 * A mandatory policy judging the stack as a whole, through the links StackView draws. It runs
 * once everything exists, so it judges what no single resource shows.
 */
function stackPolicy(
  name: string,
  description: string,
  validate: (view: StackView, reportViolation: ReportViolation) => void,
): StackValidationPolicy {
  return {
    name,
    description,
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) =>
      validate(new StackView(args.resources), reportViolation),
  };
}

/** A mandatory policy judging one resource before it is created, so it stops the edit in time. */
function resourcePolicy(
  name: string,
  description: string,
  validate: (args: ResourceValidationArgs, reportViolation: ReportViolation) => void,
): ResourceValidationPolicy {
  return { name, description, enforcementLevel: "mandatory", validateResource: validate };
}

function isCloudRunIamScope(scope: string): boolean {
  return CLOUD_RUN_IAM_SCOPES[scope] !== undefined;
}

function describeIngress(ingress: Maybe<string | undefined>): string {
  return ingress === UNKNOWN ? "not known at preview" : (ingress ?? "unset");
}

export const targetsKeepInvokerCheck = stackPolicy(
  "cloud-run-target-keeps-invoker-check",
  "A Cloud Run service that the stack grants an invoker role on, or calls from another service, keeps Cloud Run's IAM invoker check on.",
  (view, reportViolation) => {
    for (const target of view.targets().filter(isInvokerCheckDisabled)) {
      reportViolation(
        `Cloud Run service "${target.name}" is called by named principals or another service, yet has the invoker IAM check disabled (or not known to be on), so anyone who can reach it may call it. ` +
          "Keep invokerIamDisabled off on a target; only a service nobody calls may be public.",
        target.urn,
      );
    }
  },
);

export const publicPrincipalsOnlyInvokePublicServices = stackPolicy(
  "public-principals-only-invoke-a-public-service",
  "allUsers and allAuthenticatedUsers are granted nothing but the invoker role, with a single member, on a Cloud Run service of this stack that no one else calls.",
  (view, reportViolation) => {
    for (const iam of view.iam) {
      const service = view.cloudRunServiceOf(iam);
      for (const grant of iam.grants.filter((candidate) => isPublic(candidate.member))) {
        const allowed =
          service !== undefined &&
          !view.isTarget(service) &&
          iam.kind === "Member" &&
          isInvokerRole(grant.role);
        if (allowed) continue;
        const where =
          service === undefined
            ? `the ${iam.scope} resource it names`
            : view.isTarget(service)
              ? `Cloud Run service "${service.name}", which others are granted to call`
              : `Cloud Run service "${service.name}"`;
        reportViolation(
          `"${iam.resource.name}" grants ${describeRole(grant.role)} to ${describeMember(grant.member)} on ${where}. ` +
            "Only a public service may be opened, and only with roles/run.invoker in a single-member grant; grant other access to named principals.",
          iam.resource.urn,
        );
      }
    }
  },
);

export const targetInvokedOnlyByItsCaller = stackPolicy(
  "target-invoked-only-by-its-caller",
  "A target's invoker role is granted once, to the runtime account of the service that calls it: never to the target's own account, the default compute account or any other principal.",
  (view, reportViolation) => {
    for (const target of view.targets()) {
      const callerAccounts = view
        .callersOf(target)
        .flatMap((caller) => view.accountOf(caller) ?? []);
      const ownAccount = view.accountOf(target);
      const invokers = view.namedInvokers(target);
      invokers.forEach(({ iam, grant }, index) => {
        const member = describeMember(grant.member);
        let problem: string | undefined;
        if (isDefaultComputeAccount(grant.member)) {
          problem = `names the default compute account ${member}, which every service without an account of its own runs as`;
        } else if (ownAccount !== undefined && namesAccount(iam, grant, ownAccount)) {
          problem = `names the target's own account ${accountName(ownAccount)}, so the target may call itself`;
        } else if (!callerAccounts.some((account) => namesAccount(iam, grant, account))) {
          problem = `names ${member}, which is not the account of a service that calls the target`;
        } else if (index > 0) {
          problem = "is a second invoker grant on the target";
        }
        if (problem === undefined) return;
        reportViolation(
          `"${iam.resource.name}" grants ${describeRole(grant.role)} on Cloud Run service "${target.name}" and ${problem}. ` +
            "Grant the invoker role on a target once, to the service account its caller runs as.",
          iam.resource.urn,
        );
      });
    }
  },
);

export const runtimeAccountServesOneService = stackPolicy(
  "runtime-account-serves-one-service",
  "Each Cloud Run service runs as a service account of its own that the pack can identify: no two services share one.",
  (view, reportViolation) => {
    const { accounts, unidentified } = view.runtime;
    for (const account of accounts) {
      if (account.services.length < 2) continue;
      reportViolation(
        `Cloud Run services ${account.services.map((service) => `"${service.name}"`).join(" and ")} run as the same account ${accountName(account)}, so each holds whatever the other is granted. ` +
          "Give each service a dedicated service account.",
        account.services[1]!.urn,
      );
    }
    for (const service of unidentified) {
      reportViolation(
        `Cloud Run service "${service.name}" runs as an account computed from no service account of this stack, so the pack cannot tell it from the default compute account or another service's. ` +
          "Run it as a gcp.serviceaccount.Account of the stack (its email output), or name the e-mail.",
        service.urn,
      );
    }
  },
);

export const ingressFollowsTheCall = stackPolicy(
  "ingress-follows-the-call",
  "A service that calls a target is reachable from anywhere; a target whose callers all send their traffic through a VPC accepts internal traffic only.",
  (view, reportViolation) => {
    for (const target of view.services) {
      const callers = view.callersOf(target);
      if (callers.length === 0) continue;
      for (const caller of callers) {
        const ingress = ingressOf(caller.type, caller.props);
        if (ingress === INGRESS_ALL) continue;
        reportViolation(
          `Cloud Run service "${caller.name}" calls "${target.name}" but its ingress is ${describeIngress(ingress)}; the caller is the stack's public entry point. ` +
            `Set its ingress to ${INGRESS_ALL}.`,
          caller.urn,
        );
      }
      const ingress = ingressOf(target.type, target.props);
      if (callers.every(sendsAllEgressThroughVpc) && ingress !== INGRESS_INTERNAL_ONLY) {
        reportViolation(
          `Cloud Run service "${target.name}" is called only through a VPC, yet its ingress is ${describeIngress(ingress)}, which lets the internet reach it too. ` +
            `Set its ingress to ${INGRESS_INTERNAL_ONLY} (targetIngress: internal).`,
          target.urn,
        );
      }
    }
  },
);

export const noAuthoritativeCloudRunIam = resourcePolicy(
  "no-authoritative-cloud-run-iam",
  "Cloud Run IAM is granted one member at a time (ServiceIamMember), never with bindings or policies that replace every other member.",
  (args, reportViolation) => {
    const match = IAM_RESOURCE.exec(args.type);
    if (match === null || !isCloudRunIamScope(match[1] ?? "")) return;
    if (match[2] === "Member") return;
    reportViolation(
      `"${args.name}" is an authoritative IAM ${match[2]?.toLowerCase()} on a Cloud Run service: it replaces every member granted elsewhere and can silently add or drop invokers. ` +
        "Use gcp.cloudrunv2.ServiceIamMember, one member per grant.",
    );
  },
);

export const iamOnlyOnCloudRunServices = resourcePolicy(
  "iam-only-on-cloud-run-services",
  "The stack grants roles on Cloud Run services only: never on a project, folder or organization, where a role reaches every service, on a service account, where it lets its members act as the account, or on anything else.",
  (args, reportViolation) => {
    const iam = iamResource(args);
    if (iam === undefined || isCloudRunIamScope(iam.scope)) return;
    const broad = BROAD_SCOPES[iam.scope];
    const where =
      broad !== undefined
        ? `a whole ${broad}, which reaches every Cloud Run service in it`
        : iam.scope === "serviceaccount"
          ? "a service account, letting its members act as or manage that identity"
          : `the ${iam.scope} resource it names`;
    const what = [...new Set(iam.grants.map((grant) => describeRole(grant.role)))].join(", ");
    reportViolation(
      `"${args.name}" grants ${what || "roles"} on ${where}. ` +
        "The stack grants only roles/run.invoker on the one target, with a gcp.cloudrunv2.ServiceIamMember; grant anything else outside the stack, to people, deliberately.",
    );
  },
);

export const cloudRunIamGrantsOnlyInvoker = resourcePolicy(
  "cloud-run-iam-grants-only-invoker",
  "IAM on a Cloud Run service grants an invoker role and nothing else, spelled out so that it is known at preview.",
  (args, reportViolation) => {
    const iam = iamResource(args);
    if (iam === undefined || !isCloudRunIamScope(iam.scope)) return;
    for (const role of new Set(iam.grants.map((grant) => grant.role))) {
      if (isInvokerRole(role)) continue;
      reportViolation(
        `"${args.name}" grants ${describeRole(role)} on a Cloud Run service, which lets its members do more than call it. ` +
          "Grant roles/run.invoker only.",
      );
    }
  },
);

export const noGrantsToDefaultComputeAccount = resourcePolicy(
  "no-grants-to-default-compute-account",
  "Nothing is granted to a project's default compute account, which every workload without an account of its own runs as.",
  (args, reportViolation) => {
    // A member unknown at preview is computed from a resource; target-invoked-only-by-its-caller
    // identifies it by that resource.
    for (const grant of iamResource(args)?.grants ?? []) {
      if (!isDefaultComputeAccount(grant.member)) continue;
      reportViolation(
        `"${args.name}" grants ${describeRole(grant.role)} to the default compute account ${describeMember(grant.member)}, which every service or VM without an account of its own runs as. ` +
          "Grant it to the dedicated account of the one service that needs it.",
      );
    }
  },
);

export const servicesRunAsDedicatedAccounts = resourcePolicy(
  "cloud-run-service-has-dedicated-account",
  "Every Cloud Run service names its own service account instead of running as the default compute account.",
  (args, reportViolation) => {
    if (!isCloudRunService(args.type)) return;
    const account = runAsEmail(args.type, args.props);
    // An e-mail unknown at preview is computed from another resource, which one resource does
    // not show: runtime-account-serves-one-service refuses it unless it is an account of the stack.
    if (account === UNKNOWN) return;
    const runsAsDefault =
      account === undefined
        ? "names no service account, so it runs as the project's default compute account"
        : DEFAULT_COMPUTE_ACCOUNT.test(account)
          ? `runs as the default compute account ${account}`
          : undefined;
    if (runsAsDefault === undefined) return;
    reportViolation(
      `Cloud Run service "${args.name}" ${runsAsDefault}, which usually holds Editor. ` +
        "Give it a dedicated service account with only the roles it needs.",
    );
  },
);

export const ingressAllOrInternalOnly = resourcePolicy(
  "cloud-run-ingress-all-or-internal-only",
  `Every Cloud Run service sets its ingress to ${INGRESS_ALL} or ${INGRESS_INTERNAL_ONLY}, known at preview; never to the load-balancer setting, which external load balancers reach too.`,
  (args, reportViolation) => {
    if (!isCloudRunService(args.type)) return;
    const ingress = ingressOf(args.type, args.props);
    if (ingress !== UNKNOWN && ingress !== undefined && ALLOWED_INGRESS.includes(ingress)) return;
    reportViolation(
      `Cloud Run service "${args.name}" has ingress ${describeIngress(ingress)}. ` +
        `Set it to ${INGRESS_ALL} or, for a target reached only from the VPC, ${INGRESS_INTERNAL_ONLY}; ${V1_INGRESS_VALUES["internal-and-cloud-load-balancing"]} also admits external load balancers.`,
    );
  },
);

/** Every policy of the pack, in the order they are reported. */
export const POLICIES = [
  targetsKeepInvokerCheck,
  publicPrincipalsOnlyInvokePublicServices,
  targetInvokedOnlyByItsCaller,
  runtimeAccountServesOneService,
  ingressFollowsTheCall,
  noAuthoritativeCloudRunIam,
  iamOnlyOnCloudRunServices,
  cloudRunIamGrantsOnlyInvoker,
  noGrantsToDefaultComputeAccount,
  servicesRunAsDedicatedAccounts,
  ingressAllOrInternalOnly,
  targetVerifiesTokens,
];
