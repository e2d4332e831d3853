/**
 * The stack's security shape, checked over everything a program registered: the one grant and
 * nothing else. Any IAM resource of any kind (Cloud Run, registry, service account, project,
 * folder, organization, bucket, …) beyond what index.ts intends is a violation, as is a target
 * that lets unauthenticated callers in, ingress other than configured, an account that runs
 * more than one service, or a registry credential that is not a secret.
 *
 * It judges a first preview as strictly as `pulumi up`: where an e-mail is still unknown, the
 * value must have been computed from the right account resource, and nothing else.
 *
 * The check is written without the policy pack, so the two judge each program independently.
 */
import {
  type Registration,
  type StackRun,
  TYPES,
  UNKNOWN,
  accountEmail,
} from "../helpers/pulumiMocks";

/** Every IAM resource of the Google provider: `…IamMember`, `…IAMBinding`, `…IamPolicy`. */
const IAM_TYPE = /:[A-Za-z0-9]*iam(member|binding|policy)$/i;

/** Cloud Run's ingress values for the stack's `targetIngress` settings. */
const INGRESS: Record<string, string> = {
  all: "INGRESS_TRAFFIC_ALL",
  internal: "INGRESS_TRAFFIC_INTERNAL_ONLY",
};

/** One principal holding one role through one IAM resource, as a sentence part. */
function describeGrants(resource: Registration): string[] {
  const { role, member, members, policyData } = resource.inputs as {
    role?: string;
    member?: string;
    members?: string[];
    policyData?: string;
  };
  const principals = [...(member === undefined ? [] : [member]), ...(members ?? [])];
  const grants = principals.map((principal) => `${role} to ${principal}`);
  if (policyData !== undefined) grants.push(`a whole IAM policy ${policyData}`);
  const on = resource.inputs.name ?? resource.inputs.service ?? resource.inputs.project ?? "";
  return grants.map(
    (grant) => `${resource.type} "${resource.name}" grants ${grant} on ${String(on)}`,
  );
}

/**
 * Whether `value` is `account`'s e-mail (with `prefix`, e.g. `serviceAccount:`): the e-mail
 * Google gives it when known, or, while unknown, a value computed from that account alone.
 */
function isAccountValue(
  run: StackRun,
  account: Registration,
  value: unknown,
  computedFrom: string[] = [],
  prefix = "",
): boolean {
  const email = accountEmail(String(account.inputs.accountId), run.engine.project);
  if (value !== UNKNOWN) return value === `${prefix}${email}`;
  const accountUrns = run.engine.ofType(TYPES.account).map((registration) => registration.urn);
  const accounts = computedFrom.filter((urn) => accountUrns.includes(urn));
  return accounts.length === 1 && accounts[0] === account.urn;
}

/**
 * Everything in the run that departs from the intended shape, as readable sentences; empty
 * when the stack is exactly: the target private with its configured ingress, the client public
 * as `publicAccess` says and reachable from anywhere, each running as its own account,
 * `roles/run.invoker` on the target for the client's account (plus `allUsers` on the client
 * under `all-users`) as the only IAM grants, and the registry credential a secret.
 */
export function securityShapeViolations(run: StackRun, config: Record<string, string>): string[] {
  const { engine } = run;
  const publicAccess = config.publicAccess ?? "invoker-iam-disabled";
  const targetIngress = config.targetIngress ?? "all";
  const violations: string[] = [];
  const services = engine.ofType(TYPES.runService);
  const target = services.find((service) => service.name === "target-service");
  const client = services.find((service) => service.name === "client-service");
  const accounts = engine.ofType(TYPES.account);
  const targetAccount = accounts.find((account) => account.name === "target-account");
  const clientAccount = accounts.find((account) => account.name === "client-account");
  if (!target || !client || !targetAccount || !clientAccount) {
    return ["the target, the client or one of their accounts is missing"];
  }

  const runsAs = (service: Registration, account: Registration) =>
    isAccountValue(
      run,
      account,
      (service.inputs.template as { serviceAccount?: unknown }).serviceAccount,
      service.propertyDependencies.template,
    );
  if (!runsAs(target, targetAccount)) violations.push("the target does not run as its own account");
  if (!runsAs(client, clientAccount)) violations.push("the client does not run as its own account");
  if (accounts.length !== 2) violations.push(`${accounts.length} service accounts, not 2`);
  if (services.length !== 2) violations.push(`${services.length} Cloud Run services, not 2`);

  // The intended grants, each consumed when found; anything left over is unintended.
  const intended = [
    {
      on: target,
      role: "roles/run.invoker",
      member: "the client's account",
      is: (grant: Registration) =>
        isAccountValue(
          run,
          clientAccount,
          grant.inputs.member,
          grant.propertyDependencies.member,
          "serviceAccount:",
        ),
    },
    ...(publicAccess === "all-users"
      ? [
          {
            on: client,
            role: "roles/run.invoker",
            member: "allUsers",
            is: (grant: Registration) => grant.inputs.member === "allUsers",
          },
        ]
      : []),
  ];
  for (const resource of engine.registrations.filter((r) => r.custom && IAM_TYPE.test(r.type))) {
    const index = intended.findIndex(
      (grant) =>
        resource.type === TYPES.runServiceMember &&
        resource.inputs.name === grant.on.inputs.name &&
        resource.inputs.location === grant.on.inputs.location &&
        resource.inputs.role === grant.role &&
        grant.is(resource),
    );
    if (index === -1)
      violations.push(...describeGrants(resource).map((text) => `unintended: ${text}`));
    else intended.splice(index, 1);
  }
  for (const missing of intended) {
    violations.push(
      `missing: ${missing.role} for ${missing.member} on ${String(missing.on.inputs.name)}`,
    );
  }

  if (target.inputs.invokerIamDisabled !== false) {
    violations.push("the target has Cloud Run's invoker IAM check disabled");
  }
  if (client.inputs.invokerIamDisabled !== (publicAccess === "invoker-iam-disabled")) {
    violations.push(`the client's invoker IAM check does not match publicAccess=${publicAccess}`);
  }
  if (target.inputs.ingress !== INGRESS[targetIngress]) {
    violations.push(
      `the target's ingress is ${String(target.inputs.ingress)}, not ${INGRESS[targetIngress]} as targetIngress=${targetIngress} says`,
    );
  }
  if (client.inputs.ingress !== INGRESS.all) {
    violations.push(
      `the client's ingress is ${String(client.inputs.ingress)}, not reachable from anywhere`,
    );
  }
  for (const image of engine.ofType(TYPES.image)) {
    const secret = image.secretPaths.includes("registry.password");
    if (!secret) violations.push(`the registry password of ${image.name} is not a secret`);
  }
  return violations;
}
