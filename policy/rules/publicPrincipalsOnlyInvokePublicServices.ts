import { stackPolicy } from "../policyKinds";
import { describeMember, describeRole, isInvokerRole, isPublic } from "../readers/iam";

/**
 * Whether a service is a target, and so must not be public, takes the whole stack to tell;
 * public-principals-only-on-configured-client judges a grant on its own when the
 * configuration names the client.
 */
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
