import { configuredPolicy, type IntentSource } from "../policyKinds";
import { UNKNOWN } from "../readers/properties";
import { isCloudRunService, runAsEmail, serviceName } from "../readers/services";

/**
 * runtime-account-serves-one-service, before the service exists: the configuration names the
 * target's and the client's accounts.
 */
export function configuredServicesRunAsOwnAccounts(intentOf: IntentSource) {
  return configuredPolicy(
    "configured-services-run-as-own-accounts",
    "The target and the client the stack's configuration names run as their own accounts (<namePrefix>-target and <namePrefix>-client in gcp:project), and no other Cloud Run service runs as either.",
    intentOf,
    (args, intent, reportViolation) => {
      if (!isCloudRunService(args.type)) return;
      const runAs = runAsEmail(args.type, args.props);
      const name = serviceName(args.props);
      // An e-mail unknown at preview is computed from an account, which one resource does not
      // show: runtime-account-serves-one-service links it; no e-mail at all is
      // cloud-run-service-has-dedicated-account's.
      if (typeof runAs !== "string" || name === UNKNOWN) return;
      const configured = [
        { role: "target", ...intent.target },
        { role: "client", ...intent.client },
      ];
      const own = configured.find((service) => service.name === name);
      const taken = configured.find((service) => service.account === runAs);
      if (own !== undefined && runAs !== own.account) {
        const whose = taken === undefined ? "" : `, the ${taken.role}'s account,`;
        reportViolation(
          `Cloud Run service "${args.name}" is the stack's ${own.role} ${own.name} but runs as ${runAs}${whose} not its own account ${own.account}. ` +
            `Run the ${own.role} as ${own.account}, which nothing else runs as.`,
        );
      } else if (own === undefined && taken !== undefined) {
        reportViolation(
          `Cloud Run service "${args.name}" runs as ${runAs}, the account of the stack's ${taken.role} ${taken.name}, so each holds whatever the other is granted. ` +
            "Give it a dedicated service account.",
        );
      }
    },
  );
}
