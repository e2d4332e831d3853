/**
 * What `npm start` prints once everything answers: what runs where, and commands to try with
 * the answer each should give.
 */
import type { LocalService, LocalStack } from "./stack";

function identityCommand(service: LocalService, audience: string): string {
  return (
    `curl -s -H 'Metadata-Flavor: Google' ` +
    `'${service.metadata.url}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${audience}&format=full'`
  );
}

export function banner(stack: LocalStack): string {
  const { target, client } = stack.services;
  const column = (text: string) => text.padEnd(24);
  return [
    "",
    `Local stack is up (project ${stack.projectId}; tokens are signed with keys generated at start, no Google account involved)`,
    "",
    `  client   ${column(client.url)} public   runs as ${client.email}`,
    `  target   ${column(target.url)} private  runs as ${target.email}`,
    `           Cloud Run front-end stand-in, forwarding to the target process at ${target.process.url}`,
    `           the target verifies every token itself too (AUTH_MODE=${target.env.AUTH_MODE})`,
    `           invokers: ${target.invokers.join(", ")}`,
    `  metadata stand-ins (free ports, one per service): client ${client.metadata.host}, target ${target.metadata.host}`,
    "",
    "Try:",
    `  curl ${client.url}/`,
    `    → 200: the target names ${client.email} as its caller`,
    `  curl -i ${target.url}/`,
    "    → 403: no credential; the target is private",
    `  curl -i -H "Authorization: Bearer $(${identityCommand(target, target.url)})" ${target.url}/`,
    `    → 403: ${target.email} is not an invoker of the target`,
    `  curl -i -H "Authorization: Bearer $(${identityCommand(client, "https://elsewhere.example")})" ${target.url}/`,
    "    → 401: the token is for another audience",
    `  T=$(${identityCommand(client, target.url)}); curl -i -H "X-Serverless-Authorization: Bearer $T" -H "Authorization: Bearer $T" ${target.url}/`,
    `    → 200: ${client.email} is an invoker, and the target verifies the untouched Authorization itself`,
    `  curl -i -H "Authorization: Bearer $(${identityCommand(client, target.url)} | sed 's/[^.]*$/SIGNATURE_REMOVED_BY_GOOGLE/')" ${target.process.url}/`,
    "    → 401: straight to the target process, a token without its signature is refused",
    "",
    "Ctrl-C stops everything.",
    "",
  ].join("\n");
}
