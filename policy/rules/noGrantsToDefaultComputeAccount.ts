import { resourcePolicy } from "../policyKinds";
import { describeMember, describeRole, iamResource, isDefaultComputeAccount } from "../readers/iam";

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
