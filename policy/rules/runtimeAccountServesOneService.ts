import { stackPolicy } from "../policyKinds";
import { accountName } from "../readers/stackView";

/**
 * Two services sharing an account, and an account computed from no account of the stack, take
 * the whole stack to see. configured-services-run-as-own-accounts judges each service on its
 * own when the configuration names the accounts.
 */
export const runtimeAccountServesOneService = stackPolicy(
  "runtime-account-serves-one-service",
  "Each Cloud Run service runs as a service account of its own that the pack can identify: no two services share one.",
  (view, reportViolation) => {
    const { accounts, unidentified } = view.runtime;
    for (const account of accounts) {
      if (account.services.length < 2) continue;
      reportViolation(
        `Cloud Run services ${account.services.map((service) => `"${service.name}"`).join(" and ")} run as the same account ${accountName(account)}, so each holds whatever the other is granted. ` +
          "Give each service a dedicated service account.",
        account.services[1]!.urn,
      );
    }
    for (const service of unidentified) {
      reportViolation(
        `Cloud Run service "${service.name}" runs as an account computed from no service account of this stack, so the pack cannot tell it from the default compute account or another service's. ` +
          "Run it as a gcp.serviceaccount.Account of the stack (its email output), or name the e-mail.",
        service.urn,
      );
    }
  },
);
