/**
 * What the stack's configuration says the pack will find: which Cloud Run service is the target
 * and which the client, the account each runs as, and the ingress the target must have. With it
 * a resource policy judges one resource against what is intended, before the resource is
 * created, where otherwise only the whole stack would tell a target from any other service.
 *
 * The names and e-mails come from services/wiring.ts, the rule the program names its services
 * and accounts by; what the configuration means for ingress is the pack's own reading, kept
 * apart from the program's mapping of it so that an edit of the program cannot change it.
 */
import { INGRESS, type Ingress, serviceAccounts, serviceNames } from "../services/wiring";

/** The stack's configuration by fully qualified key (`gcp:project`, `<project>:namePrefix`). */
export type StackConfiguration = Readonly<Record<string, string>>;

export interface ConfiguredService {
  /** The Cloud Run service's name. */
  name: string;
  /** The e-mail of the account it runs as. */
  account: string;
}

export interface StackIntent {
  target: ConfiguredService;
  client: ConfiguredService;
  /** Who may reach the target over the network (`targetIngress`). */
  targetIngress: Ingress;
  /** Whether the client sends all its egress through a subnet (`clientVpcSubnet` is set). */
  clientEgressThroughVpc: boolean;
}

/**
 * What `config` says, read as the program reads it, its own keys named `<pulumiProject>:<key>`
 * (whatever a copy of the program renames its Pulumi project to); undefined when it lacks what
 * the pack needs (`namePrefix`, `gcp:project`, a valid `targetIngress`), so that the pack never
 * judges against a guess.
 */
export function stackIntent(
  config: StackConfiguration,
  pulumiProject: string,
): StackIntent | undefined {
  const key = (name: string) => config[`${pulumiProject}:${name}`];
  const prefix = key("namePrefix");
  const project = config["gcp:project"];
  const targetIngress = INGRESS.find((value) => value === key("targetIngress"));
  if (!prefix || !project?.trim() || targetIngress === undefined) return undefined;
  const names = serviceNames(prefix);
  const accounts = serviceAccounts(prefix, project);
  return {
    target: { name: names.target, account: accounts.target.email },
    client: { name: names.client, account: accounts.client.email },
    targetIngress,
    // Pulumi.yaml spells "no subnet" as an empty default, which config.ts trims away too.
    clientEgressThroughVpc: (key("clientVpcSubnet") ?? "").trim() !== "",
  };
}
