/**
 * The policy pack's entry point, run by `pulumi preview --policy-pack policy` (and `pulumi up`).
 * Constructing the pack starts the server the Pulumi CLI talks to, which is why the policies
 * live in their own modules and only this file builds the pack.
 */
import { PolicyPack } from "@pulumi/policy";
import { packPolicies } from "./policies";
import { keepingStackConfiguration, receivedStackConfiguration } from "./stackConfiguration";
import { stackIntent } from "./stackIntent";

keepingStackConfiguration(
  () =>
    new PolicyPack("cloud-run-private-calls", {
      description:
        "Keeps private Cloud Run services private: invoked only by their caller's dedicated account, no public principals or disabled invoker checks on them, ingress all or internal-only, and no IAM beyond invoker grants on Cloud Run services. Judges a first preview as strictly as an update, and with the stack's configuration judges the target and the client before either is created.",
      enforcementLevel: "mandatory",
      policies: packPolicies(() => {
        const received = receivedStackConfiguration();
        return received && stackIntent(received.config, received.project);
      }),
    }),
);
