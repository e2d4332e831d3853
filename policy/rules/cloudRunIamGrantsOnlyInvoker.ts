import { resourcePolicy } from "../policyKinds";
import { describeRole, iamResource, isCloudRunIamScope, isInvokerRole } from "../readers/iam";

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
