/** Careless edits of the program that the policy pack must refuse, as engine tests apply them. */

/** `text` with `from` replaced by `to`; fails when the file no longer holds `from`. */
export function replaced(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the file no longer holds ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

/** index.ts with an invoker grant for allUsers on the target, just before the outputs. */
export function allUsersOnTarget(indexTs: string): string {
  return replaced(
    indexTs,
    "  return {\n    clientUrl",
    `  new gcp.cloudrunv2.ServiceIamMember("target-public", {
    project: target.service.project,
    location: target.service.location,
    name: target.service.name,
    role: "roles/run.invoker",
    member: "allUsers",
  });

  return {\n    clientUrl`,
  );
}

/** index.ts with the target opened by switching Cloud Run's invoker check off. */
export function targetInvokerCheckOff(indexTs: string): string {
  return replaced(
    indexTs,
    "serviceAccount: targetAccount,",
    `serviceAccount: targetAccount, publicAccess: "invoker-iam-disabled",`,
  );
}

/** index.ts with the target's ingress hard-coded to all, whatever targetIngress says. */
export function targetIngressHardCodedAll(indexTs: string): string {
  return replaced(indexTs, "ingress: config.targetIngress,", 'ingress: "all",');
}
