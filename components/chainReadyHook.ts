/**
 * The resource hooks that make `pulumi up` end only when the chain works: after a change that
 * can break it, the hook runs the wait of ./chainWait until the client answers 200 naming its
 * own account through the target, and fails the deployment with the reason when it does not
 * within the bound. Hooks run in `pulumi up` only, never in preview, and only for resources
 * that are created or updated, so an `up` that changes nothing waits for nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { type ChainEndpoints, waitForChain } from "./chainWait";

/** The name the engine knows the hook by. */
export const CHAIN_READY_HOOK = "wait-for-working-chain";

/** The stack's settings of the wait. */
export interface ChainReadySettings {
  /** False for a deployer that cannot reach the client: then no hook is attached at all. */
  waitForChain: boolean;
  /** How long one wait may take before it fails the deployment. */
  waitForChainMinutes: number;
}

/** The chain's far end as the program declares it: the client service and its account. */
export interface ChainEnds {
  client: { uri: pulumi.Input<string> };
  clientAccount: { email: pulumi.Input<string> };
}

/** Where to attach the hook; empty bindings when the wait is turned off. */
export interface ChainReadyHooks {
  /** For the grant and the client: creating or updating either can break the chain. */
  afterCreateOrUpdate: pulumi.ResourceHookBinding;
  /**
   * For the target: a new revision can break the chain. Not after its creation, which comes
   * before the grant's and would wait for a grant that cannot exist yet; the grant's own hook
   * covers a new or replaced target.
   */
  afterUpdate: pulumi.ResourceHookBinding;
}

/** The value of an output once it is known, or a rejection after `ms`. */
function known<T>(output: pulumi.Output<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} was not known within ${ms} ms`)), ms);
    output.apply((value) => {
      clearTimeout(timer);
      resolve(value);
      return value;
    });
  });
}

/**
 * The hooks, waiting on the client that `ends` returns. It is called only when a hook runs,
 * after the program has declared every resource, so it may name resources declared after
 * this call.
 */
export function chainReadyHooks(
  { waitForChain: enabled, waitForChainMinutes }: ChainReadySettings,
  ends: () => ChainEnds,
): ChainReadyHooks {
  if (!enabled) return { afterCreateOrUpdate: {}, afterUpdate: {} };
  const timeoutMs = waitForChainMinutes * 60_000;

  const waitOnce = async (): Promise<void> => {
    const { client, clientAccount } = ends();
    const chain: ChainEndpoints = await known(
      pulumi.output({ clientUrl: client.uri, clientAccount: clientAccount.email }),
      timeoutMs,
      "the client's URL",
    );
    await waitForChain(chain, { timeoutMs, report: (line) => void pulumi.log.info(line) });
  };
  // One wait at a time. A hook that fires while a wait runs joins it: that wait succeeds only
  // on an answer that comes after this hook's change too.
  let running: Promise<void> | undefined;
  const hook = new pulumi.ResourceHook(CHAIN_READY_HOOK, async () => {
    running ??= waitOnce().finally(() => (running = undefined));
    try {
      await running;
    } catch (error) {
      throw new Error(
        `${(error as Error).message} To deploy without this check: pulumi config set waitForChain false`,
        { cause: error },
      );
    }
  });
  return {
    afterCreateOrUpdate: { afterCreate: [hook], afterUpdate: [hook] },
    afterUpdate: { afterUpdate: [hook] },
  };
}
