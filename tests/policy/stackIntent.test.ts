/**
 * What the pack reads in the stack's configuration: the target's and the client's names and
 * accounts, and the target's ingress, or nothing at all when the configuration is not this
 * project's or lacks a key the pack needs, so that it never judges against a guess.
 */
import { stackIntent } from "../../policy/stackIntent";
import { PULUMI_PROJECT, projectDefaults } from "../helpers/pulumiMocks";

/** A stack's configuration as the Pulumi CLI hands it over: Pulumi.yaml's defaults included. */
const DEFAULTS = { ...projectDefaults(), "gcp:project": "my-project" };

test("the defaults name the s2s target and client, their accounts in the project, and ingress all", () => {
  expect(stackIntent(DEFAULTS, PULUMI_PROJECT)).toEqual({
    target: { name: "s2s-target", account: "s2s-target@my-project.iam.gserviceaccount.com" },
    client: { name: "s2s-client", account: "s2s-client@my-project.iam.gserviceaccount.com" },
    targetIngress: "all",
    clientEgressThroughVpc: false,
  });
});

test("another prefix, a domain-scoped project, an internal target and a subnet are read as the program reads them", () => {
  expect(
    stackIntent(
      {
        ...DEFAULTS,
        "cloud-run-private-calls:namePrefix": "demo",
        "gcp:project": "example.com:my-project",
        "cloud-run-private-calls:targetIngress": "internal",
        "cloud-run-private-calls:clientVpcSubnet": "run-egress",
      },
      PULUMI_PROJECT,
    ),
  ).toEqual({
    target: {
      name: "demo-target",
      account: "demo-target@my-project.example.com.iam.gserviceaccount.com",
    },
    client: {
      name: "demo-client",
      account: "demo-client@my-project.example.com.iam.gserviceaccount.com",
    },
    targetIngress: "internal",
    clientEgressThroughVpc: true,
  });
});

test("a subnet of blanks is no subnet, as config.ts reads it", () => {
  const intent = stackIntent(
    { ...DEFAULTS, "cloud-run-private-calls:clientVpcSubnet": "  " },
    PULUMI_PROJECT,
  );
  expect(intent?.clientEgressThroughVpc).toBe(false);
});

test("a copy of the program under another Pulumi project name is read under that name", () => {
  const renamed = Object.fromEntries(
    Object.entries(DEFAULTS).map(([key, value]) => [
      key.replace(`${PULUMI_PROJECT}:`, "my-copy:"),
      value,
    ]),
  );
  expect(stackIntent(renamed, "my-copy")?.target.name).toBe("s2s-target");
  expect(stackIntent(renamed, PULUMI_PROJECT)).toBeUndefined();
});

test.each<[string, Record<string, string>]>([
  ["no configuration at all", {}],
  ["another project's configuration", { "other-project:namePrefix": "s2s", "gcp:project": "p" }],
  ["no gcp:project", { ...DEFAULTS, "gcp:project": "" }],
  ["a gcp:project of blanks", { ...DEFAULTS, "gcp:project": "  " }],
  ["an empty namePrefix", { ...DEFAULTS, "cloud-run-private-calls:namePrefix": "" }],
  ["targetIngress in capitals", { ...DEFAULTS, "cloud-run-private-calls:targetIngress": "ALL" }],
  [
    "targetIngress with a trailing space",
    { ...DEFAULTS, "cloud-run-private-calls:targetIngress": "internal " },
  ],
  [
    "targetIngress as Google spells it",
    { ...DEFAULTS, "cloud-run-private-calls:targetIngress": "INGRESS_TRAFFIC_ALL" },
  ],
])("%s states no intent", (_, config) => {
  expect(stackIntent(config, PULUMI_PROJECT)).toBeUndefined();
});
