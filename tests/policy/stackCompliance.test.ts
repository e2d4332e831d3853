/**
 * The stack and its policy pack agree: what the program creates, under each configuration that
 * changes access, passes every policy of the pack, as `pulumi preview --policy-pack` would run it.
 */
import { runStack } from "../helpers/pulumiMocks";
import { packViolations } from "./policyArgs";

test.each([
  ["the default configuration", {}],
  ["a client opened with an allUsers grant", { publicAccess: "all-users" }],
  [
    "an internal target with a custom audience",
    {
      targetIngress: "internal",
      clientVpcSubnet: "egress",
      customAudience: "https://t.example.com",
    },
  ],
])("the stack passes every policy of the pack under %s", async (_, config) => {
  const { engine } = await runStack(config);
  expect(engine.registrations.filter((registration) => registration.custom).length).toBeGreaterThan(
    10,
  );
  expect(await packViolations(engine.registrations)).toEqual([]);
});
