/**
 * Google Cloud is eventually consistent where a first `pulumi up` meets it: an API enabled a
 * moment ago still answers "has not been used in project … or it is disabled" for a while, and a
 * service account created a moment ago is unknown to the services that must use it ("does not
 * exist", or "Permission … denied … (or it may not exist)"). Instead of a fixed sleep that every
 * first `up` pays, a Pulumi error hook retries exactly the operation that failed that way, for a
 * bounded time, and says what it waits for. Every other error fails at once, as before.
 *
 * Error hooks need Pulumi CLI 3.218 or later; docs/deploying.md names the version to install.
 */
import { setTimeout as delay } from "node:timers/promises";
import * as pulumi from "@pulumi/pulumi";
import { hookLog } from "./hookLog";
import { STACK_APIS } from "../components/stackApis";

/**
 * The APIs the program cannot enable itself: the Google provider reads the project through Cloud
 * Resource Manager after enabling any API, and enables APIs through Service Usage. They must be
 * on before the first `pulumi up`; waiting would not turn them on.
 */
export const PREREQUISITE_APIS = [
  "cloudresourcemanager.googleapis.com",
  "serviceusage.googleapis.com",
] as const;

/** How long one failed operation is retried for, at most, and how often. */
export const RETRY_INTERVAL_SECONDS = 15;
export const MAX_RETRY_SECONDS = 300;
const MAX_RETRIES = MAX_RETRY_SECONDS / RETRY_INTERVAL_SECONDS;

export type RetryDecision =
  | {
      retry: true;
      /** What the operation waits for, in words for the person running `pulumi up`. */
      waitingFor: string;
      /** This retry's number, from 1 to the last one the bound allows. */
      attempt: number;
      maxAttempts: number;
    }
  | {
      retry: false;
      /** What to do instead, when the error is one this stack knows the fix for. */
      advice?: string;
    };

const API_DISABLED = /has not been used in project \S+ before or it is disabled|SERVICE_DISABLED/;
/** The API an "API disabled" error is about: its activation URL, or the ErrorInfo's metadata. */
const DISABLED_SERVICE = [
  /apis\/api\/([a-z0-9.-]+\.googleapis\.com)/,
  /"service":\s*"([a-z0-9.-]+\.googleapis\.com)"/,
];
/** IAM does not know an account yet (setting a policy that names it, in the IAM API's words). */
const ACCOUNT_UNKNOWN = /Service account "?([^\s"]+@[^\s"]+?)"? does not exist/;
/** IAM answers 403 instead of 404 for an account it does not know yet. */
const ACCOUNT_NOT_VISIBLE =
  /Permission 'iam\.serviceAccounts\.get' denied on resource \(or it may not exist\)/;
/** Cloud Run cannot run as an account it does not see yet, or that the deployer may not use. */
const ACT_AS_DENIED =
  /Permission '?iam\.serviceaccounts\.actAs'? denied on service account "?([^\s"]+?)"? \(or it may not exist\)/i;

function disabledService(error: string): string | undefined {
  for (const pattern of DISABLED_SERVICE) {
    const service = pattern.exec(error)?.[1];
    if (service !== undefined) return service;
  }
  return undefined;
}

type Diagnosis = { waitFor: string } | { advice: string };

/** What the newest error says: what to wait for, what to do instead, or nothing known. */
function diagnose(error: string): Diagnosis | undefined {
  if (API_DISABLED.test(error)) {
    const service = disabledService(error);
    if (service !== undefined && (PREREQUISITE_APIS as readonly string[]).includes(service)) {
      return {
        advice: `${service} is off in the project, and the stack cannot enable it. Enable both APIs the stack needs first: gcloud services enable ${PREREQUISITE_APIS.join(" ")} --project <your-project-id>`,
      };
    }
    if (service !== undefined && (STACK_APIS as readonly string[]).includes(service)) {
      return { waitFor: `${service}, enabled by this stack, to take effect` };
    }
    return undefined;
  }
  const unknownAccount = ACCOUNT_UNKNOWN.exec(error)?.[1];
  if (unknownAccount !== undefined)
    return { waitFor: `service account ${unknownAccount} to reach IAM` };
  if (ACCOUNT_NOT_VISIBLE.test(error)) {
    return { waitFor: "a service account created moments ago to reach IAM" };
  }
  const actAsAccount = ACT_AS_DENIED.exec(error)?.[1];
  if (actAsAccount !== undefined) {
    return {
      waitFor: `service account ${actAsAccount} to reach Cloud Run (if this persists, you lack roles/iam.serviceAccountUser on it)`,
    };
  }
  return undefined;
}

/**
 * Whether a failed operation is retried: only a create or update, only when its newest error
 * is one of the propagation errors above, and for MAX_RETRY_SECONDS in all. `errors` is what the
 * engine hands an error hook: every error of this operation so far, newest first.
 */
export function retryDecision(failedOperation: string, errors: readonly string[]): RetryDecision {
  const [newest] = errors;
  if (newest === undefined || (failedOperation !== "create" && failedOperation !== "update")) {
    return { retry: false };
  }
  const diagnosis = diagnose(newest);
  if (diagnosis === undefined) return { retry: false };
  if ("advice" in diagnosis) return { retry: false, advice: diagnosis.advice };
  if (errors.length > MAX_RETRIES) {
    return {
      retry: false,
      advice: `still waiting for ${diagnosis.waitFor} after ${MAX_RETRY_SECONDS} s; run pulumi up again in a few minutes`,
    };
  }
  return {
    retry: true,
    waitingFor: diagnosis.waitFor,
    attempt: errors.length,
    maxAttempts: MAX_RETRIES,
  };
}

/**
 * The error hook the stack puts on every resource that follows the APIs: it logs what a retry
 * waits for, waits RETRY_INTERVAL_SECONDS, and asks the engine to retry; or logs the advice and
 * lets the operation fail. Created inside the program, since creating it registers it with the
 * engine.
 */
export function propagationRetry(): pulumi.ErrorHook {
  return new pulumi.ErrorHook("retry-while-google-propagates", async (failure) => {
    const decision = retryDecision(failure.failedOperation, failure.errors);
    // The lines go under the resource that failed, whose URN the engine hands the hook.
    const log = hookLog(failure.urn);
    if (!decision.retry) {
      if (decision.advice !== undefined) log.error(decision.advice);
      return false;
    }
    log.warn(
      `Waiting for ${decision.waitingFor}; ${failure.failedOperation} again in ${RETRY_INTERVAL_SECONDS} s (retry ${decision.attempt} of ${decision.maxAttempts}).`,
    );
    await delay(RETRY_INTERVAL_SECONDS * 1000);
    return true;
  });
}
