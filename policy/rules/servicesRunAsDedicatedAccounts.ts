import { resourcePolicy } from "../policyKinds";
import { UNKNOWN } from "../readers/properties";
import { isCloudRunService, runAsEmail } from "../readers/services";
import { DEFAULT_COMPUTE_ACCOUNT } from "../vocabulary";

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
