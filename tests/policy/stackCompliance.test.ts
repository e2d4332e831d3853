/**
 * The stack and its policy pack agree: what the program creates, under each configuration that
 * changes access, passes every policy of the pack, both as `pulumi up` hands resources to the
 * pack and as a first `pulumi preview` does, with every computed output still unknown; and no
 * policy is skipped for want of a value. The pack is given the stack's configuration, as the
 * Pulumi CLI gives it; without one, its configured policies say they do not apply.
 */
import { MODES, runStack } from "../helpers/pulumiMocks";
import { isRefusal, NOT_APPLICABLE, packReports } from "./policyArgs";

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
      expect(await packReports(engine)).toEqual([]);
    },
  );
});

test.each(MODES)(
  "under %s, a client sending all its egress through a subnet while the target takes all traffic is refused on the target alone, before creation and over the whole stack",
  async (mode) => {
    const { engine } = await runStack({ clientVpcSubnet: "run-egress" }, undefined, mode);
    expect(await packReports(engine)).toEqual([
      {
        policy: "ingress-as-configured",
        moment: "before creation",
        message: expect.stringMatching(
          /^Cloud Run service "target-service" is the stack's target s2s-target, whose ingress must be INGRESS_TRAFFIC_INTERNAL_ONLY because the client sends all its calls through clientVpcSubnet/,
        ),
      },
      {
        policy: "ingress-follows-the-call",
        moment: "whole stack",
        message: expect.stringMatching(
          /^Cloud Run service "target-service" is called only through a VPC/,
        ),
      },
    ]);
  },
);

test.each(MODES)(
  "under %s, a pack given no configuration refuses nothing in the stack, and each configured policy says on every resource that it does not apply",
  async (mode) => {
    const { engine } = await runStack({}, undefined, mode);
    const reports = await packReports(engine, { intent: undefined });
    expect(reports.filter(isRefusal)).toEqual([]);
    const customResources = engine.registrations.filter((registration) => registration.custom);
    const configured = [
      "configured-target-keeps-invoker-check",
      "public-principals-only-on-configured-client",
      "configured-target-invoked-only-by-client",
      "configured-services-run-as-own-accounts",
      "ingress-as-configured",
    ];
    expect(reports.map((report) => report.policy)).toEqual(
      configured.flatMap((policy) => customResources.map(() => policy)),
    );
    expect(reports.every((report) => report.message.startsWith(NOT_APPLICABLE))).toBe(true);
  },
);
