import { configuredPolicy, type IntentSource } from "../policyKinds";
import { isCloudRunService, isInvokerCheckDisabled, serviceName } from "../readers/services";

/** cloud-run-target-keeps-invoker-check, before the target exists: the configuration names it. */
export function configuredTargetKeepsInvokerCheck(intentOf: IntentSource) {
  return configuredPolicy(
    "configured-target-keeps-invoker-check",
    "The Cloud Run service the stack's configuration names as the target (<namePrefix>-target) keeps Cloud Run's IAM invoker check on.",
    intentOf,
    (args, intent, reportViolation) => {
      if (!isCloudRunService(args.type) || serviceName(args.props) !== intent.target.name) return;
      if (!isInvokerCheckDisabled(args)) return;
      reportViolation(
        `Cloud Run service "${args.name}" is the stack's target ${intent.target.name}, yet has the invoker IAM check disabled (or not known to be on), so anyone who can reach it may call it. ` +
          "Keep invokerIamDisabled off on the target; only the client may be public (publicAccess).",
      );
    },
  );
}
