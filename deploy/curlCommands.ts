/**
 * The stack's `commands` output: what to paste after `pulumi up` to see the chain and the
 * target's refusal, each with the answer it should get.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Ingress } from "../services/wiring";
import type { Chain } from "./workingChain";

/**
 * `curl` the client (200, naming the client's account as the target's caller) and the target
 * without a token. Internal ingress turns away callers outside the VPC (404) before IAM looks
 * at them; otherwise IAM refuses a call without a token (403).
 */
export function curlCommands(
  { client, target, clientAccount }: Pick<Chain, "client" | "target" | "clientAccount">,
  targetIngress: Ingress,
): pulumi.Output<string> {
  const refusal =
    targetIngress === "internal"
      ? "404 Not Found: the target's ingress is internal, and this call comes from outside the VPC"
      : pulumi.interpolate`403 Forbidden: no ID token, and only ${clientAccount.email} may invoke the target`;
  return pulumi.interpolate`curl ${client.uri}   # 200: the target's answer names ${clientAccount.email} as its caller
curl -i ${target.uri}   # ${refusal}`;
}
