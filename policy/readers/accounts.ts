/** Which service account an e-mail belongs to, as far as the stack shows it. */
import type { PolicyResource } from "@pulumi/policy";
import { serviceAccountEmail } from "../../services/wiring";
import { text } from "./properties";

/**
 * The project an account is created in: its own `project` input, else its provider's. The
 * provider may take the project from the environment (GOOGLE_PROJECT) instead, and then the
 * pack does not know it.
 */
function projectOf(account: PolicyResource): string | undefined {
  const own = text(() => account.props.project);
  if (typeof own === "string" && own !== "") return own;
  const fromProvider = text(() => account.provider?.props.project);
  return typeof fromProvider === "string" && fromProvider !== "" ? fromProvider : undefined;
}

/**
 * Whether `email` is the service account resource's: its e-mail output, or the e-mail Google
 * gives its account id in its project. With the project unknown, an e-mail with the account's
 * id in any project counts as the account's, so that an unknown project never hides a grant.
 */
export function isEmailOfAccount(email: string, account: PolicyResource): boolean {
  if (text(() => account.props.email) === email) return true;
  const accountId = text(() => account.props.accountId);
  if (typeof accountId !== "string") return false;
  const project = projectOf(account);
  if (project !== undefined) return email === serviceAccountEmail(accountId, project);
  return email.startsWith(`${accountId}@`) && email.endsWith(".iam.gserviceaccount.com");
}
