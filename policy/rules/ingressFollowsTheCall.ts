import { stackPolicy } from "../policyKinds";
import { describeIngress, ingressOf, sendsAllEgressThroughVpc } from "../readers/services";
import { INGRESS_ALL, INGRESS_INTERNAL_ONLY } from "../vocabulary";

/**
 * Which service calls which, and how its calls leave it, takes the whole stack to see.
 * ingress-as-configured judges the configured target and client on their own.
 */
export const ingressFollowsTheCall = stackPolicy(
  "ingress-follows-the-call",
  "A service that calls a target is reachable from anywhere; a target whose callers all send their traffic through a VPC accepts internal traffic only.",
  (view, reportViolation) => {
    for (const target of view.services) {
      const callers = view.callersOf(target);
      if (callers.length === 0) continue;
      for (const caller of callers) {
        const ingress = ingressOf(caller.type, caller.props);
        if (ingress === INGRESS_ALL) continue;
        reportViolation(
          `Cloud Run service "${caller.name}" calls "${target.name}" but its ingress is ${describeIngress(ingress)}; the caller is the stack's public entry point. ` +
            `Set its ingress to ${INGRESS_ALL}.`,
          caller.urn,
        );
      }
      const ingress = ingressOf(target.type, target.props);
      if (callers.every(sendsAllEgressThroughVpc) && ingress !== INGRESS_INTERNAL_ONLY) {
        reportViolation(
          `Cloud Run service "${target.name}" is called only through a VPC, yet its ingress is ${describeIngress(ingress)}, which lets the internet reach it too. ` +
            `Set its ingress to ${INGRESS_INTERNAL_ONLY} (targetIngress: internal).`,
          target.urn,
        );
      }
    }
  },
);
