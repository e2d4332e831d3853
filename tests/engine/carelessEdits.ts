/** Careless edits of the program that the policy pack must refuse, as engine tests apply them. */

/** index.ts with an invoker grant for allUsers on the target, just before the outputs. */
export function allUsersOnTarget(indexTs: string): string {
  return indexTs.replace(
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
  return indexTs.replace(
    "serviceAccount: targetAccount,",
    `serviceAccount: targetAccount, publicAccess: "invoker-iam-disabled",`,
  );
}

/** index.ts with the target's ingress hard-coded to all, whatever targetIngress says. */
export function targetIngressHardCodedAll(indexTs: string): string {
  return indexTs.replace("ingress: config.targetIngress,", 'ingress: "all",');
}
