/**
 * What `npm start` prints once everything answers: what runs where, and commands to try with
 * the answer each should give. Every line fits in 100 columns, so a normal terminal shows it
 * unwrapped, and the commands paste as they are into bash or zsh.
 */
import type { LocalStack } from "./stack";

/**
 * `npm run verify` for this stack, self-contained: its "someone else's token" is the target's
 * own ID token for the target's URL, from the target's metadata stand-in (the target's account
 * is not an invoker of the target, so its front end answers 403), fetched by curl rather than
 * gcloud. Broken with backslash-newlines only between words, in the outer command and in the
 * double-quoted one alike, so the indentation a continuation line brings is just more white
 * space between words; hence `-G -d` rather than one URL with its query, too long for a line.
 */
function verifyCommand(stack: LocalStack): string[] {
  const { target, client } = stack.services;
  const identity = "computeMetadata/v1/instance/service-accounts/default/identity";
  return [
    `  npm run verify -- --client ${client.url} --target ${target.url} \\`,
    `    --client-account ${client.email} \\`,
    `    --other-token-command "curl -s -G -H 'Metadata-Flavor: Google' \\`,
    `      -d audience=${target.url} -d format=full \\`,
    `      '${target.metadata.url}/${identity}'"`,
  ];
}

export function banner(stack: LocalStack): string {
  const { target, client } = stack.services;
  return [
    "",
    `Local stack is up (project ${stack.projectId}). Tokens are signed with keys generated at`,
    "start; no Google account is involved.",
    "",
    `  client    ${client.url}   public`,
    `            runs as ${client.email}`,
    `  target    ${target.url}   private: a Cloud Run front-end stand-in admits only`,
    `            ${target.invokers.join(", ")}`,
    `            runs as ${target.email}`,
    `            the target process itself listens at ${target.process.url}`,
    `            and verifies every token itself too (AUTH_MODE=${target.env.AUTH_MODE})`,
    `  metadata  one stand-in per service: client ${client.metadata.url}, target ${target.metadata.url}`,
    "",
    "Try:",
    `  curl ${client.url}/`,
    `    → 200: the target names ${client.email} as its caller`,
    `  curl -i ${target.url}/`,
    "    → 403: no credential; the target is private",
    "",
    "With ID tokens from each service's metadata stand-in (paste these lines first):",
    `  client_md=${client.metadata.url} target_md=${target.metadata.url} target=${target.url}`,
    "  token() {  # token <metadata stand-in> <audience>",
    "    curl -s -H 'Metadata-Flavor: Google' \\",
    '      "$1/computeMetadata/v1/instance/service-accounts/default/identity?audience=$2&format=full"',
    "  }",
    `  T=$(token $client_md $target) target_process=${target.process.url}  # the client's token`,
    '  curl -i -H "Authorization: Bearer $(token $target_md $target)" $target/',
    `    → 403: ${target.email} is not an invoker of the target`,
    '  curl -i -H "Authorization: Bearer $(token $client_md https://elsewhere.example)" $target/',
    "    → 401: the token is for another audience",
    '  curl -i -H "X-Serverless-Authorization: Bearer $T" -H "Authorization: Bearer $T" $target/',
    "    → 200: the client's token in both headers: the front end checks one, the target the other",
    '  curl -i -H "Authorization: Bearer ${T%.*}.SIGNATURE_REMOVED_BY_GOOGLE" $target_process/',
    "    → 401: straight to the target process, a token without its signature is refused",
    "",
    "Check it as a deployment is checked, with the target's own token as someone else's:",
    ...verifyCommand(stack),
    "    → All 3 checks passed (no gcloud needed: the stand-in mints the other token)",
    "",
    "Ctrl-C stops everything.",
    "",
  ].join("\n");
}
