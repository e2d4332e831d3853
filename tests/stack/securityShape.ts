/**
 * The stack's security shape, checked over everything a program registered: the one grant and
 * nothing else. Any IAM resource of any kind (Cloud Run, registry, service account, project,
 * folder, organization, bucket, …) beyond what index.ts intends is a violation, as is a target
 * that lets unauthenticated callers in or an account that runs more than one service.
 *
 * The check is written without the policy pack, so the two judge each program independently.
 */
import { type Registration, type StackRun, TYPES } from "../helpers/pulumiMocks";

/** Every IAM resource of the Google provider: `…IamMember`, `…IAMBinding`, `…IamPolicy`. */
const IAM_TYPE = /:[A-Za-z0-9]*iam(member|binding|policy)$/i;

export type PublicAccess = "invoker-iam-disabled" | "all-users";

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
  return grants.map((grant) => `${resource.type} "${resource.name}" grants ${grant} on ${on}`);
}

/**
 * Everything in the run that departs from the intended shape, as readable sentences; empty
 * when the stack is exactly: the target private, the client public as `publicAccess` says, each
 * running as its own account, and `roles/run.invoker` on the target for the client's account
 * (plus `allUsers` on the client under `all-users`) as the only IAM grants.
 */
export function securityShapeViolations(run: StackRun, publicAccess: PublicAccess): string[] {
  const { engine } = run;
  const violations: string[] = [];
  const services = engine.ofType(TYPES.runService);
  const target = services.find((service) => service.name === "target-service");
  const client = services.find((service) => service.name === "client-service");
  if (target === undefined || client === undefined) return ["the target or the client is missing"];
  const runAs = (service: Registration) =>
    (service.inputs.template as { serviceAccount?: string }).serviceAccount;
  const clientEmail = runAs(client);

  // The intended grants, each consumed when found; anything left over is unintended.
  const intended = [
    { on: target, role: "roles/run.invoker", member: `serviceAccount:${clientEmail}` },
    ...(publicAccess === "all-users"
      ? [{ on: client, role: "roles/run.invoker", member: "allUsers" }]
      : []),
  ];
  for (const resource of engine.registrations.filter((r) => r.custom && IAM_TYPE.test(r.type))) {
    const index = intended.findIndex(
      (grant) =>
        resource.type === TYPES.runServiceMember &&
        resource.inputs.name === grant.on.inputs.name &&
        resource.inputs.location === grant.on.inputs.location &&
        resource.inputs.role === grant.role &&
        resource.inputs.member === grant.member,
    );
    if (index === -1)
      violations.push(...describeGrants(resource).map((text) => `unintended: ${text}`));
    else intended.splice(index, 1);
  }
  for (const missing of intended) {
    violations.push(`missing: ${missing.role} for ${missing.member} on ${missing.on.inputs.name}`);
  }

  if (target.inputs.invokerIamDisabled !== false) {
    violations.push("the target has Cloud Run's invoker IAM check disabled");
  }
  if (client.inputs.invokerIamDisabled !== (publicAccess === "invoker-iam-disabled")) {
    violations.push(`the client's invoker IAM check does not match publicAccess=${publicAccess}`);
  }
  const accounts = services.map(runAs);
  if (accounts.some((account) => account === undefined || /-compute@/.test(account))) {
    violations.push("a Cloud Run service runs as the default compute account");
  }
  if (new Set(accounts).size !== accounts.length) {
    violations.push(`Cloud Run services share a service account: ${accounts.join(", ")}`);
  }
  return violations;
}
