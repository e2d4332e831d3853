import { configuredPolicy, type IntentSource } from "../policyKinds";
import { describeIngress, ingressOf, isCloudRunService, serviceName } from "../readers/services";
import type { StackIntent } from "../stackIntent";
import { INGRESS_ALL, INGRESS_INTERNAL_ONLY } from "../vocabulary";

/** The ingress the configuration asks of the target, in the pack's own words, and why. */
function targetIngress(intent: StackIntent): { ingress: string; because: string } {
  if (intent.targetIngress === "internal") {
    return { ingress: INGRESS_INTERNAL_ONLY, because: "targetIngress is internal" };
  }
  if (intent.clientEgressThroughVpc) {
    return {
      ingress: INGRESS_INTERNAL_ONLY,
      because:
        "the client sends all its calls through clientVpcSubnet (set targetIngress: internal)",
    };
  }
  return { ingress: INGRESS_ALL, because: "targetIngress is all" };
}

/**
 * ingress-follows-the-call, before the services exist: the configuration names the target,
 * the client, and how the client's calls leave it.
 */
export function ingressAsConfigured(intentOf: IntentSource) {
  return configuredPolicy(
    "ingress-as-configured",
    `The target the stack's configuration names takes ${INGRESS_INTERNAL_ONLY} when targetIngress is internal or the client sends its calls through clientVpcSubnet, ${INGRESS_ALL} otherwise; the client takes ${INGRESS_ALL}.`,
    intentOf,
    (args, intent, reportViolation) => {
      if (!isCloudRunService(args.type)) return;
      const name = serviceName(args.props);
      const expected =
        name === intent.target.name
          ? { role: "target", name, ...targetIngress(intent) }
          : name === intent.client.name
            ? {
                role: "client",
                name,
                ingress: INGRESS_ALL,
                because: "it is the stack's public entry point",
              }
            : undefined;
      if (expected === undefined) return;
      const ingress = ingressOf(args.type, args.props);
      if (ingress === expected.ingress) return;
      reportViolation(
        `Cloud Run service "${args.name}" is the stack's ${expected.role} ${expected.name}, whose ingress must be ${expected.ingress} because ${expected.because}, yet it has ingress ${describeIngress(ingress)}. ` +
          `Set its ingress to ${expected.ingress}.`,
      );
    },
  );
}
