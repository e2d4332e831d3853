/**
 * The policy pack's entry point, run by `pulumi preview --policy-pack policy` (and `pulumi up`).
 * Constructing the pack starts the server the Pulumi CLI talks to, which is why the policies
 * live in their own module and only this file builds the pack.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("cloud-run-private-calls", {
  description:
    "Keeps private Cloud Run services private: invoked only by their caller's dedicated account, no public principals or disabled invoker checks on them, ingress all or internal-only, and no IAM beyond invoker grants on Cloud Run services. Judges a first preview as strictly as an update.",
  enforcementLevel: "mandatory",
  policies: POLICIES,
});
