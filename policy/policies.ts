/**
 * Every policy of the pack, in the order they are reported. They are plain objects, so tests
 * call them directly; only index.ts turns them into a running pack.
 *
 * The configured policies judge a resource against the stack's configuration, which reaches the
 * pack only once it runs: `intentOf` says where to find it then.
 */
import type { Policies } from "@pulumi/policy";
import type { IntentSource } from "./policyKinds";
import { cloudRunIamGrantsOnlyInvoker } from "./rules/cloudRunIamGrantsOnlyInvoker";
import { configuredServicesRunAsOwnAccounts } from "./rules/configuredServicesRunAsOwnAccounts";
import { configuredTargetInvokedOnlyByClient } from "./rules/configuredTargetInvokedOnlyByClient";
import { configuredTargetKeepsInvokerCheck } from "./rules/configuredTargetKeepsInvokerCheck";
import { iamOnlyOnCloudRunServices } from "./rules/iamOnlyOnCloudRunServices";
import { ingressAllOrInternalOnly } from "./rules/ingressAllOrInternalOnly";
import { ingressAsConfigured } from "./rules/ingressAsConfigured";
import { ingressFollowsTheCall } from "./rules/ingressFollowsTheCall";
import { noAuthoritativeCloudRunIam } from "./rules/noAuthoritativeCloudRunIam";
import { noGrantsToDefaultComputeAccount } from "./rules/noGrantsToDefaultComputeAccount";
import { publicPrincipalsOnlyInvokePublicServices } from "./rules/publicPrincipalsOnlyInvokePublicServices";
import { publicPrincipalsOnlyOnConfiguredClient } from "./rules/publicPrincipalsOnlyOnConfiguredClient";
import { runtimeAccountServesOneService } from "./rules/runtimeAccountServesOneService";
import { servicesRunAsDedicatedAccounts } from "./rules/servicesRunAsDedicatedAccounts";
import { targetInvokedOnlyByItsCaller } from "./rules/targetInvokedOnlyByItsCaller";
import { targetsKeepInvokerCheck } from "./rules/targetsKeepInvokerCheck";
import { targetVerifiesTokens } from "./rules/targetVerifiesTokens";

export function packPolicies(intentOf: IntentSource): Policies {
  return [
    // Each configured policy judges before creation what the stack policy after it judges
    // over the whole stack.
    configuredTargetKeepsInvokerCheck(intentOf),
    targetsKeepInvokerCheck,
    publicPrincipalsOnlyOnConfiguredClient(intentOf),
    publicPrincipalsOnlyInvokePublicServices,
    configuredTargetInvokedOnlyByClient(intentOf),
    targetInvokedOnlyByItsCaller,
    configuredServicesRunAsOwnAccounts(intentOf),
    runtimeAccountServesOneService,
    ingressAsConfigured(intentOf),
    ingressFollowsTheCall,
    noAuthoritativeCloudRunIam,
    iamOnlyOnCloudRunServices,
    cloudRunIamGrantsOnlyInvoker,
    noGrantsToDefaultComputeAccount,
    servicesRunAsDedicatedAccounts,
    ingressAllOrInternalOnly,
    targetVerifiesTokens,
  ];
}
