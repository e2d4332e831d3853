/**
 * What `npm start` prints once everything listens: what runs where, and commands to try with
 * the answer each should give.
 */
import type { LocalService, LocalStack } from "./stack";

function identityCommand(metadata: LocalService["metadata"], audience: string): string {
  return (
    `curl -s -H 'Metadata-Flavor: Google' ` +
    `'${metadata.url}/computeMetadata/v1/instance/service-accounts/default/identity?audience=${audience}&format=full'`
  );
}

function describeService(service: LocalService): string[] {
  const lines = [
    `  ${service.name.padEnd(8)} ${service.url.padEnd(24)} ${service.frontEnd ? "private" : "public "}  runs as ${service.email}`,
  ];
  if (service.frontEnd) {
    lines.push(
      `  ${"".padEnd(8)} Cloud Run front-end stand-in, forwarding to the ${service.name} process at ${service.process.url}`,
      `  ${"".padEnd(8)} invokers: ${service.invokers.join(", ") || "none"}`,
    );
  }
  return lines;
}

function tryCommands(stack: LocalStack): string[] {
  const services = Object.values(stack.services);
  const lines: string[] = [];
  for (const caller of services.filter((service) => !service.frontEnd)) {
    lines.push(
      `  curl ${caller.url}/`,
      `    → 200: the service it calls names ${caller.email} as its caller`,
    );
  }
  for (const target of services.filter((service) => service.frontEnd)) {
    const outsider = services.find((service) => !target.invokers.includes(service.email));
    const invoker = services.find((service) => target.invokers.includes(service.email));
    lines.push(`  curl -i ${target.url}/`, `    → 403: no credential; ${target.name} is private`);
    if (outsider) {
      lines.push(
        `  curl -i -H "Authorization: Bearer $(${identityCommand(outsider.metadata, target.url)})" ${target.url}/`,
        `    → 403: ${outsider.email} is not an invoker of ${target.name}`,
      );
    }
    if (invoker) {
      lines.push(
        `  curl -i -H "Authorization: Bearer $(${identityCommand(invoker.metadata, "https://elsewhere.example")})" ${target.url}/`,
        `    → 401: the token is for another audience`,
        `  curl -i -H "Authorization: Bearer $(${identityCommand(invoker.metadata, target.url)})" ${target.url}/`,
        `    → 200: ${invoker.email} is an invoker`,
      );
    }
  }
  return lines;
}

export function banner(stack: LocalStack): string {
  const services = Object.values(stack.services).sort((a, b) => a.url.localeCompare(b.url));
  return [
    "",
    `Local stack is up (project ${stack.projectId}; tokens are signed with keys generated at start, no Google account involved)`,
    "",
    ...services.flatMap(describeService),
    `  metadata stand-ins: ${services.map((service) => `${service.name} ${service.metadata.host}`).join(", ")}`,
    "",
    "Try:",
    ...tryCommands(stack),
    "",
    "Ctrl-C stops everything.",
    "",
  ].join("\n");
}
