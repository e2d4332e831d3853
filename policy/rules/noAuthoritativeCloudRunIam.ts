import { resourcePolicy } from "../policyKinds";
import { iamResource, isCloudRunIamScope } from "../readers/iam";

export const noAuthoritativeCloudRunIam = resourcePolicy(
  "no-authoritative-cloud-run-iam",
  "Cloud Run IAM is granted one member at a time (ServiceIamMember), never with bindings or policies that replace every other member.",
  (args, reportViolation) => {
    const iam = iamResource(args);
    if (iam === undefined || !isCloudRunIamScope(iam.scope) || iam.kind === "Member") return;
    reportViolation(
      `"${args.name}" is an authoritative IAM ${iam.kind.toLowerCase()} on a Cloud Run service: it replaces every member granted elsewhere and can silently add or drop invokers. ` +
        "Use gcp.cloudrunv2.ServiceIamMember, one member per grant.",
    );
  },
);
