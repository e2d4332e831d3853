/**
 * The target's own token check, as the stack configures it through the AUTH_MODE variable of
 * its container. The default, `verify`, makes the target refuse everyone but its caller even if
 * Cloud Run's invoker check is ever off; `cloud-run` trusts that check alone. Choosing it is
 * allowed (the `targetAuthMode` stack setting), so the pack warns rather than blocks.
 */
import type {
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import { CLOUD_RUN_V2_SERVICE } from "../vocabulary";

interface Container {
  envs?: Array<{ name?: unknown; value?: unknown }>;
}

/** The AUTH_MODE a Cloud Run v2 service's containers set, if any of them sets one. */
function authModes(props: Record<string, unknown>): unknown[] {
  const template = props.template as { containers?: Container[] } | undefined;
  return (template?.containers ?? [])
    .flatMap((container) => container.envs ?? [])
    .filter((env) => env.name === "AUTH_MODE")
    .map((env) => env.value);
}

export const targetVerifiesTokens: ResourceValidationPolicy = {
  name: "cloud-run-target-verifies-tokens",
  description:
    "A service that authenticates callers with AUTH_MODE verifies every token itself (verify), instead of trusting Cloud Run's invoker check alone (cloud-run).",
  enforcementLevel: "advisory",
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (args.type !== CLOUD_RUN_V2_SERVICE) return;
    if (!authModes(args.props).includes("cloud-run")) return;
    reportViolation(
      `Cloud Run service "${args.name}" runs with AUTH_MODE=cloud-run: it trusts Cloud Run's invoker check alone, so if that check is ever turned off (allUsers, invokerIamDisabled, a console click), anyone who names the client in an unsigned token is served. ` +
        "Set targetAuthMode to verify unless this is deliberate.",
    );
  },
};
