import { targetVerifiesTokens } from "../../policy/rules/targetVerifiesTokens";
import { runStack, TYPES } from "../helpers/pulumiMocks";
import { violationsOfResource } from "./policyArgs";

const SERVICE = "gcp:cloudrunv2/service:Service";

function serviceWithEnv(envs: Array<{ name: string; value: string }>): Record<string, unknown> {
  return { template: { containers: [{ image: "image@sha256:0", envs }] } };
}

describe("the policy that the target verifies tokens itself", () => {
  it("warns about a service with AUTH_MODE=cloud-run", async () => {
    const messages = await violationsOfResource(
      targetVerifiesTokens,
      SERVICE,
      serviceWithEnv([{ name: "AUTH_MODE", value: "cloud-run" }]),
      "target-service",
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('"target-service" runs with AUTH_MODE=cloud-run');
  });

  it("is advisory, because cloud-run is a mode the stack may choose", () => {
    expect(targetVerifiesTokens.enforcementLevel).toBe("advisory");
  });

  it("passes AUTH_MODE=verify, services without AUTH_MODE, and near misses of the name", async () => {
    for (const envs of [
      [{ name: "AUTH_MODE", value: "verify" }],
      [],
      [{ name: "AUTH_MODE_X", value: "cloud-run" }],
      [{ name: "XAUTH_MODE", value: "cloud-run" }],
    ]) {
      expect(
        await violationsOfResource(targetVerifiesTokens, SERVICE, serviceWithEnv(envs)),
      ).toEqual([]);
    }
  });

  it("passes the stack's target by default and warns when targetAuthMode is cloud-run", async () => {
    const targetOf = async (config: Record<string, string>) =>
      (await runStack(config)).engine.named(TYPES.runService, "target-service");
    const byDefault = await targetOf({});
    const trusting = await targetOf({ targetAuthMode: "cloud-run" });
    expect(await violationsOfResource(targetVerifiesTokens, SERVICE, byDefault.inputs)).toEqual([]);
    expect(await violationsOfResource(targetVerifiesTokens, SERVICE, trusting.inputs)).toHaveLength(
      1,
    );
  });
});
