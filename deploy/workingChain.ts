/**
 * `pulumi up` ends with a working chain: a resource of the stack, `working-chain`, is created or
 * updated only after the client has answered 200 naming its own account through the target.
 * Its inputs are what the chain is made of (each service's identity and generation, the grant),
 * so a change of any of them updates it, and a hook before that create or update runs the wait
 * of ./chainWait.
 *
 * Why a resource of its own, and a hook before its operation:
 * - The engine remembers a failed operation, not a failed hook. When the wait fails, the
 *   resource is not created (or keeps its old inputs), so the next `up` shows it again and
 *   waits again, until the chain has worked once. A hook after a service's own operation fails
 *   the deployment but the engine records the operation as done, and the next `up` forgets.
 * - It depends on the client, the target and the grant, so it runs after all three, and its
 *   hook reads the client's URL from its own inputs. A hook that awaited an output of the
 *   resource it runs for, or of one waiting on that resource, would wait forever: the engine
 *   runs a resource's hooks before it returns that resource's outputs to the program.
 *
 * The provider of the resource only records its inputs; it runs in Pulumi's Node.js dynamic
 * provider plugin, which ships with the Pulumi CLI. Hooks never run in preview.
 */
import type * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import type { CloudRunService } from "../components/cloudRunService";
import { withFullStop, callUntilChainWorks } from "./chainWait";
import { hookLog } from "./hookLog";

/** The name the engine knows the hook by. */
export const WORKING_CHAIN_HOOK = "wait-for-working-chain";

/** What the chain is made of: the two services, the grant, and the client's account. */
export interface Chain {
  target: Pick<CloudRunService, "service" | "uri">;
  client: Pick<CloudRunService, "service" | "uri">;
  grant: gcp.cloudrunv2.ServiceIamMember;
  clientAccount: gcp.serviceaccount.Account;
}

/** How long one wait may take before it fails the deployment. */
export interface WorkingChainSettings {
  waitForChainMinutes: number;
}

/** The inputs the hook reads: where to call, and whom the target must name. */
interface WorkingChainInputs {
  clientUrl?: unknown;
  clientAccount?: unknown;
}

// Records its inputs and nothing else: the check is the hook before each create and update. It
// refers to nothing outside itself, as Pulumi serializes it into the stack's state.
const recordOnly: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    return { id: "working-chain", outs: inputs };
  },
  async update(_id, _olds, news) {
    return { outs: news };
  },
};

/** A service as it now runs: a replaced service gets a new uid, a changed one a new generation. */
function serviceState(service: gcp.cloudrunv2.Service): pulumi.Output<string> {
  return pulumi.interpolate`${service.uid}/${service.generation}`;
}

/**
 * The hook that waits for the chain, reading the client's URL and account from the inputs of the
 * resource it runs for. Created inside the program: creating it registers it with the engine.
 */
export function workingChainHook({
  waitForChainMinutes,
}: WorkingChainSettings): pulumi.ResourceHook {
  const timeoutMs = waitForChainMinutes * 60_000;
  return new pulumi.ResourceHook(WORKING_CHAIN_HOOK, async ({ urn, newInputs }) => {
    const { clientUrl, clientAccount } = (newInputs ?? {}) as WorkingChainInputs;
    if (typeof clientUrl !== "string" || typeof clientAccount !== "string") {
      throw new Error("the hook was not given the client's URL and account");
    }
    const log = hookLog(urn);
    try {
      await callUntilChainWorks({ clientUrl, clientAccount }, { timeoutMs, report: log.info });
    } catch (error) {
      throw new Error(
        `${withFullStop((error as Error).message)} To deploy without this check: pulumi config set waitForChain false`,
        { cause: error },
      );
    }
  });
}

export class WorkingChain extends pulumi.dynamic.Resource {
  constructor(
    name: string,
    { target, client, grant, clientAccount }: Chain,
    settings: WorkingChainSettings,
    opts?: pulumi.CustomResourceOptions,
  ) {
    const wait = workingChainHook(settings);
    super(
      recordOnly,
      name,
      {
        clientUrl: client.uri,
        clientAccount: clientAccount.email,
        target: serviceState(target.service),
        client: serviceState(client.service),
        grant: pulumi.interpolate`${grant.id}/${grant.member}`,
      },
      { ...opts, hooks: { beforeCreate: [wait], beforeUpdate: [wait] } },
      "chain",
      "WorkingChain",
    );
  }
}
