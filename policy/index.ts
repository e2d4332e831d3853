/**
 * The policy pack's entry point, run by `pulumi preview --policy-pack policy` (and `pulumi up`).
 * Constructing the pack starts the server the Pulumi CLI talks to, which is why the policies
 * live in their own module and only this file builds the pack.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("cloud-run-private-calls", {
  description:
    "Keeps private Cloud Run services private: no public principals or disabled invoker checks on them, no project-level roles/run.invoker, and no service running as the default compute account.",
  enforcementLevel: "mandatory",
  policies: POLICIES,
});
