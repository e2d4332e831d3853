import { configuredPolicy, type IntentSource } from "../policyKinds";
import {
  describeMember,
  describeRole,
  grantedServiceName,
  iamResource,
  isDefaultComputeAccount,
  isPublic,
} from "../readers/iam";
import { type Maybe, UNKNOWN } from "../readers/properties";
import type { StackIntent } from "../stackIntent";

/** Who a principal other than the client's account is, as a reviewer would want it named. */
function whoIs(member: Maybe<string>, intent: StackIntent): string {
  const principal = describeMember(member);
  if (member === `serviceAccount:${intent.target.account}`) {
    return `the target's own account ${principal}, so the target may call itself`;
  }
  if (isPublic(member)) return `${principal}, everyone on the internet`;
  if (isDefaultComputeAccount(member)) {
    return `the default compute account ${principal}, which every service without an account of its own runs as`;
  }
  return `${principal}, which is not the client's account`;
}

/**
 * target-invoked-only-by-its-caller, before the grant exists: the configuration names the
 * target and the client's account. A second grant to the client is left to the stack policy.
 */
export function configuredTargetInvokedOnlyByClient(intentOf: IntentSource) {
  return configuredPolicy(
    "configured-target-invoked-only-by-client",
    "Every principal granted a role on the Cloud Run service the stack's configuration names as the target is the client's account (<namePrefix>-client in gcp:project), spelled exactly.",
    intentOf,
    (args, intent, reportViolation) => {
      const iam = iamResource(args);
      if (iam === undefined || grantedServiceName(iam) !== intent.target.name) return;
      const client = `serviceAccount:${intent.client.account}`;
      for (const grant of iam.grants) {
        // A principal unknown at preview is computed from a resource, which one resource does
        // not show: target-invoked-only-by-its-caller identifies it by that resource.
        if (grant.member === UNKNOWN || grant.member === client) continue;
        reportViolation(
          `"${args.name}" grants ${describeRole(grant.role)} on the stack's target ${intent.target.name} to ${whoIs(grant.member, intent)}. ` +
            `Grant the invoker role on the target to the client's account ${client} alone.`,
        );
      }
    },
  );
}
