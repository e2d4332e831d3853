import { stackPolicy } from "../policyKinds";
import { isInvokerCheckDisabled } from "../readers/services";

/**
 * Any service the stack makes a target, however it is named: the whole stack shows which those
 * are. configured-target-keeps-invoker-check judges the configured target before it exists.
 */
export const targetsKeepInvokerCheck = stackPolicy(
  "cloud-run-target-keeps-invoker-check",
  "A Cloud Run service that the stack grants an invoker role on, or calls from another service, keeps Cloud Run's IAM invoker check on.",
  (view, reportViolation) => {
    for (const target of view.targets().filter(isInvokerCheckDisabled)) {
      reportViolation(
        `Cloud Run service "${target.name}" is called by named principals or another service, yet has the invoker IAM check disabled (or not known to be on), so anyone who can reach it may call it. ` +
          "Keep invokerIamDisabled off on a target; only a service nobody calls may be public.",
        target.urn,
      );
    }
  },
);
