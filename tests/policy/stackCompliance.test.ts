/**
 * The stack and its policy pack agree: what the program creates, under each configuration that
 * changes access, passes every policy of the pack, both as `pulumi up` hands resources to the
 * pack and as a first `pulumi preview` does, with every computed output still unknown; and no
 * policy is skipped for want of a value.
 */
import { MODES, runStack } from "../helpers/pulumiMocks";
import { packViolations } from "./policyArgs";

const CONFIGURATIONS: [string, Record<string, string>][] = [
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
  ["the token in X-Serverless-Authorization", { tokenHeader: "x-serverless-authorization" }],
  [
    "deletion protection and another name prefix",
    { deletionProtection: "true", namePrefix: "demo" },
  ],
  ["a domain-scoped project", { "gcp:project": "example.com:my-project" }],
];

describe.each(MODES)("under %s", (mode) => {
  test.each(CONFIGURATIONS)(
    "the stack passes every policy of the pack, none skipped, under %s",
    async (_, config) => {
      const { engine } = await runStack(config, undefined, mode);
      expect(
        engine.registrations.filter((registration) => registration.custom).length,
      ).toBeGreaterThan(10);
      expect(await packViolations(engine)).toEqual([]);
    },
  );
});

test.each(MODES)(
  "under %s, a client sending all its egress through a subnet while the target takes all traffic is refused by ingress-follows-the-call alone",
  async (mode) => {
    const { engine } = await runStack({ clientVpcSubnet: "run-egress" }, undefined, mode);
    const violations = await packViolations(engine);
    expect(violations).toEqual([
      expect.stringMatching(
        /^ingress-follows-the-call: Cloud Run service "target-service" is called only through a VPC/,
      ),
    ]);
  },
);
