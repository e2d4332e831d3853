import { configuredPolicy, type IntentSource } from "../policyKinds";
import {
  describeMember,
  describeRole,
  grantedServiceName,
  iamResource,
  isCloudRunIamScope,
  isPublic,
} from "../readers/iam";
import { UNKNOWN } from "../readers/properties";

/**
 * public-principals-only-invoke-a-public-service, before the grant exists: the configuration
 * names the one service that may be public. What a public grant on the client may hold (one
 * member, the invoker role) is judged by no-authoritative-cloud-run-iam and
 * cloud-run-iam-grants-only-invoker; public grants off Cloud Run by iam-only-on-cloud-run-services.
 */
export function publicPrincipalsOnlyOnConfiguredClient(intentOf: IntentSource) {
  return configuredPolicy(
    "public-principals-only-on-configured-client",
    "allUsers and allAuthenticatedUsers are granted roles on no Cloud Run service but the one the stack's configuration names as the client (<namePrefix>-client).",
    intentOf,
    (args, intent, reportViolation) => {
      const iam = iamResource(args);
      if (iam === undefined || !isCloudRunIamScope(iam.scope)) return;
      const service = grantedServiceName(iam);
      // A service unknown at preview is computed from a resource, which one resource does not
      // show: public-principals-only-invoke-a-public-service finds it by that resource.
      if (service === UNKNOWN || service === intent.client.name) return;
      const where = service === undefined ? "a Cloud Run service it does not name" : service;
      for (const grant of iam.grants.filter((candidate) => isPublic(candidate.member))) {
        reportViolation(
          `"${args.name}" grants ${describeRole(grant.role)} to ${describeMember(grant.member)} on ${where}, which is not the stack's public client ${intent.client.name}. ` +
            "Only the client may be public; grant other access to named principals.",
        );
      }
    },
  );
}
