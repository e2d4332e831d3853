import { stackPolicy } from "../policyKinds";
import { describeMember, describeRole, isDefaultComputeAccount } from "../readers/iam";
import { accountName, namesAccount } from "../readers/stackView";

/**
 * Which service calls the target, whose account a grant's principal was computed from, and
 * whether a grant is the second on the target: only the whole stack shows these.
 * configured-target-invoked-only-by-client judges each grant on its own when the
 * configuration names the target and the client.
 */
export const targetInvokedOnlyByItsCaller = stackPolicy(
  "target-invoked-only-by-its-caller",
  "A target's invoker role is granted once, to the runtime account of the service that calls it: never to the target's own account, the default compute account or any other principal.",
  (view, reportViolation) => {
    for (const target of view.targets()) {
      const callerAccounts = view
        .callersOf(target)
        .flatMap((caller) => view.accountOf(caller) ?? []);
      const ownAccount = view.accountOf(target);
      const invokers = view.namedInvokers(target);
      invokers.forEach(({ iam, grant }, index) => {
        const member = describeMember(grant.member);
        let problem: string | undefined;
        if (isDefaultComputeAccount(grant.member)) {
          problem = `names the default compute account ${member}, which every service without an account of its own runs as`;
        } else if (ownAccount !== undefined && namesAccount(iam, grant, ownAccount)) {
          problem = `names the target's own account ${accountName(ownAccount)}, so the target may call itself`;
        } else if (!callerAccounts.some((account) => namesAccount(iam, grant, account))) {
          problem = `names ${member}, which is not the account of a service that calls the target`;
        } else if (index > 0) {
          problem = "is a second invoker grant on the target";
        }
        if (problem === undefined) return;
        reportViolation(
          `"${iam.resource.name}" grants ${describeRole(grant.role)} on Cloud Run service "${target.name}" and ${problem}. ` +
            "Grant the invoker role on a target once, to the service account its caller runs as.",
          iam.resource.urn,
        );
      });
    }
  },
);
