/**
 * What the stack's outputs tell `npm run verify` and the person pasting the `commands` output:
 * the target's ingress, and the refusal to expect from the target for it.
 */
import * as pulumi from "@pulumi/pulumi";
import { runStack, valueOf } from "../helpers/pulumiMocks";

const TARGET = "https://s2s-target-abc123xyz-ew.a.run.app";

async function outputsFor(config: Record<string, string>) {
  const { outputs } = await runStack(config);
  return {
    // A plain value among the outputs; the engine turns it into an output like the others.
    targetIngress: await valueOf(pulumi.output(outputs.targetIngress!)),
    commands: (await valueOf(outputs.commands!)).split("\n"),
  };
}

test("with ingress all the outputs say so, and the command to the target expects 403", async () => {
  const { targetIngress, commands } = await outputsFor({});
  expect(targetIngress).toBe("all");
  expect(commands).toContain(
    `curl -i ${TARGET}   # 403 Forbidden: no ID token, and only s2s-client@test-project.iam.gserviceaccount.com may invoke the target`,
  );
});

test("with internal ingress the outputs say so, and the command to the target expects 404", async () => {
  const { targetIngress, commands } = await outputsFor({
    targetIngress: "internal",
    clientVpcSubnet: "run-egress",
  });
  expect(targetIngress).toBe("internal");
  expect(commands).toContain(
    `curl -i ${TARGET}   # 404 Not Found: the target's ingress is internal, and this call comes from outside the VPC`,
  );
  expect(commands.join("\n")).not.toContain("403");
});
