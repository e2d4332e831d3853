/**
 * A Pulumi program, run under the mocked engine in a process of its own, that grants the invoker
 * role to a principal known only as an output (the first argument): the component's guard can
 * refuse it only once the output resolves, which ends the program with an error, as under
 * `pulumi up`.
 */
import * as pulumi from "@pulumi/pulumi";
import { CloudRunService } from "../../components/cloudRunService";
import { startMockedEngine } from "../helpers/pulumiMocks";
import { validArgs } from "./cloudRunServiceArgs";

void (async () => {
  const engine = await startMockedEngine();
  const service = new CloudRunService("api", validArgs());
  service.grantInvoker("caller", pulumi.output(process.argv[2] ?? ""));
  await engine.settle();
  const members = engine.ofType("gcp:cloudrunv2/serviceIamMember:ServiceIamMember");
  process.stdout.write(
    `granted: ${members.map((grant) => String(grant.inputs.member)).join(",")}\n`,
  );
})();
