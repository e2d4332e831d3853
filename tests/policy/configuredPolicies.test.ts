/**
 * The configured policies, called directly: each judges one resource against what the stack's
 * configuration says the target and the client are, so that it refuses before the resource is
 * created. Near misses of the names and e-mails the configuration gives are refused; a value
 * unknown at preview is left to the stack policies without the policy being skipped; without a
 * configuration each declares itself not applicable.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import type { IntentSource } from "../../policy/policyKinds";
import { configuredServicesRunAsOwnAccounts } from "../../policy/rules/configuredServicesRunAsOwnAccounts";
import { configuredTargetInvokedOnlyByClient } from "../../policy/rules/configuredTargetInvokedOnlyByClient";
import { configuredTargetKeepsInvokerCheck } from "../../policy/rules/configuredTargetKeepsInvokerCheck";
import { ingressAsConfigured } from "../../policy/rules/ingressAsConfigured";
import { publicPrincipalsOnlyOnConfiguredClient } from "../../policy/rules/publicPrincipalsOnlyOnConfiguredClient";
import { type StackIntent, stackIntent } from "../../policy/stackIntent";
import { PULUMI_PROJECT, TYPES, UNKNOWN } from "../helpers/pulumiMocks";
import { NOT_APPLICABLE, violationsOfResource } from "./policyArgs";

const { runService: V2_SERVICE, runServiceMember: V2_MEMBER } = TYPES;
const V1_SERVICE = "gcp:cloudrun/service:Service";
const V1_MEMBER = "gcp:cloudrun/iamMember:IamMember";
const V2_BINDING = "gcp:cloudrunv2/serviceIamBinding:ServiceIamBinding";
const TARGET_EMAIL = "s2s-target@my-project.iam.gserviceaccount.com";
const CLIENT_EMAIL = "s2s-client@my-project.iam.gserviceaccount.com";
const CLIENT = `serviceAccount:${CLIENT_EMAIL}`;

/** The intent of a stack with prefix s2s in my-project, and `extra` config on top. */
function intentWith(extra: Record<string, string> = {}): StackIntent {
  const intent = stackIntent(
    {
      "cloud-run-private-calls:namePrefix": "s2s",
      "cloud-run-private-calls:targetIngress": "all",
      "cloud-run-private-calls:clientVpcSubnet": "",
      "gcp:project": "my-project",
      ...extra,
    },
    PULUMI_PROJECT,
  );
  if (intent === undefined) throw new Error("the test's configuration states no intent");
  return intent;
}

type ConfiguredPolicy = (intentOf: IntentSource) => ResourceValidationPolicy;

/** Runs a configured policy on one resource, given `intent` (or none). */
function judgeWith(
  intent: StackIntent | undefined,
  configured: ConfiguredPolicy,
  type: string,
  props: Record<string, unknown>,
): Promise<string[]> {
  return violationsOfResource(
    configured(() => intent),
    type,
    props,
    "resource",
  );
}

/** Runs a configured policy on one resource, given the intent of a stack with the defaults. */
function judge(
  configured: ConfiguredPolicy,
  type: string,
  props: Record<string, unknown>,
): Promise<string[]> {
  return judgeWith(intentWith(), configured, type, props);
}

test.each<[string, ConfiguredPolicy, string, Record<string, unknown>]>([
  [
    "configured-target-keeps-invoker-check",
    configuredTargetKeepsInvokerCheck,
    V2_SERVICE,
    { name: "s2s-target", invokerIamDisabled: true },
  ],
  [
    "configured-target-invoked-only-by-client",
    configuredTargetInvokedOnlyByClient,
    V2_MEMBER,
    { name: "s2s-target", role: "roles/run.invoker", member: "allUsers" },
  ],
  [
    "public-principals-only-on-configured-client",
    publicPrincipalsOnlyOnConfiguredClient,
    V2_MEMBER,
    { name: "s2s-target", role: "roles/run.invoker", member: "allUsers" },
  ],
  [
    "configured-services-run-as-own-accounts",
    configuredServicesRunAsOwnAccounts,
    V2_SERVICE,
    { name: "s2s-target", template: { serviceAccount: CLIENT_EMAIL } },
  ],
  [
    "ingress-as-configured",
    ingressAsConfigured,
    V2_SERVICE,
    { name: "s2s-client", ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY" },
  ],
])(
  "%s refuses what it is there to refuse, and without a configuration declares itself not applicable to it",
  async (name, configured, type, props) => {
    expect(configured(() => undefined).name).toBe(name);
    expect(await judge(configured, type, props)).toHaveLength(1);
    expect(await judgeWith(undefined, configured, type, props)).toEqual([
      expect.stringMatching(new RegExp(`^${NOT_APPLICABLE}: the pack was given no configuration`)),
    ]);
  },
);

describe("configured-target-keeps-invoker-check", () => {
  const check = (type: string, props: Record<string, unknown>) =>
    judge(configuredTargetKeepsInvokerCheck, type, props);

  test.each([true, "true", UNKNOWN])(
    "the configured target with invokerIamDisabled %p is refused",
    async (invokerIamDisabled) => {
      expect(await check(V2_SERVICE, { name: "s2s-target", invokerIamDisabled })).toEqual([
        expect.stringContaining(
          '"resource" is the stack\'s target s2s-target, yet has the invoker IAM check disabled',
        ),
      ]);
    },
  );

  test("the configured target named by its full resource name, or as a v1 service with the annotation, is refused", async () => {
    const fullName = "projects/my-project/locations/europe-west1/services/s2s-target";
    expect(await check(V2_SERVICE, { name: fullName, invokerIamDisabled: true })).toHaveLength(1);
    const v1 = {
      name: "s2s-target",
      metadata: { annotations: { "run.googleapis.com/invoker-iam-disabled": "true" } },
    };
    expect(await check(V1_SERVICE, v1)).toHaveLength(1);
  });

  test("the configured target with the check on passes, and the client may switch it off", async () => {
    expect(await check(V2_SERVICE, { name: "s2s-target", invokerIamDisabled: false })).toEqual([]);
    expect(await check(V2_SERVICE, { name: "s2s-client", invokerIamDisabled: true })).toEqual([]);
  });
});

describe("configured-target-invoked-only-by-client", () => {
  const grant = (member: unknown, extra: Record<string, unknown> = {}) =>
    judge(configuredTargetInvokedOnlyByClient, V2_MEMBER, {
      name: "s2s-target",
      role: "roles/run.invoker",
      member,
      ...extra,
    });

  test("the client's account, spelled exactly, passes", async () => {
    expect(await grant(CLIENT)).toEqual([]);
  });

  test.each([
    ["the target's own account", `serviceAccount:${TARGET_EMAIL}`, "the target's own account"],
    ["allUsers", "allUsers", "everyone on the internet"],
    [
      "the default compute account",
      "serviceAccount:123456789012-compute@developer.gserviceaccount.com",
      "the default compute account",
    ],
    ["an operator", "user:ops@example.com", "not the client's account"],
    ["the client's e-mail with a suffix", `${CLIENT}.evil`, "not the client's account"],
    ["the client's e-mail with a prefix", `serviceAccount:x${CLIENT_EMAIL}`, "not the client's"],
    ["the client's e-mail as a user", `user:${CLIENT_EMAIL}`, "not the client's account"],
    ["the client's e-mail in capitals", CLIENT.toUpperCase(), "not the client's account"],
    [
      "the client's id in another project",
      "serviceAccount:s2s-client@other-project.iam.gserviceaccount.com",
      "not the client's account",
    ],
    ["a member that is not text", 42, "not the client's account"],
  ])("%s on the configured target is refused", async (_, member, says) => {
    expect(await grant(member)).toEqual([
      expect.stringContaining(`grants roles/run.invoker on the stack's target s2s-target to`),
    ]);
    expect((await grant(member))[0]).toContain(says);
  });

  test("a member not known at preview is left to the stack policy, which knows what it was computed from", async () => {
    expect(await grant(UNKNOWN)).toEqual([]);
  });

  test("the target named by its full resource name, or through Cloud Run v1 IAM, is judged the same", async () => {
    const fullName = "projects/my-project/locations/europe-west1/services/s2s-target";
    expect(await grant("user:ops@example.com", { name: fullName })).toHaveLength(1);
    const v1 = { service: "s2s-target", role: "roles/run.invoker", member: "user:ops@example.com" };
    expect(await judge(configuredTargetInvokedOnlyByClient, V1_MEMBER, v1)).toHaveLength(1);
  });

  test("each member of a binding on the target but the client's account is refused", async () => {
    const members = [CLIENT, "user:ops@example.com"];
    const binding = { name: "s2s-target", role: "roles/run.invoker", members };
    expect(await judge(configuredTargetInvokedOnlyByClient, V2_BINDING, binding)).toEqual([
      expect.stringContaining("to user:ops@example.com"),
    ]);
  });

  test("in a domain-scoped project the client's e-mail as Google forms it passes, the colon form does not", async () => {
    const intent = intentWith({ "gcp:project": "example.com:my-project" });
    const member = (email: string) => ({
      name: "s2s-target",
      role: "roles/run.invoker",
      member: `serviceAccount:${email}`,
    });
    const right = "s2s-client@my-project.example.com.iam.gserviceaccount.com";
    const colon = "s2s-client@example.com:my-project.iam.gserviceaccount.com";
    expect(
      await judgeWith(intent, configuredTargetInvokedOnlyByClient, V2_MEMBER, member(right)),
    ).toEqual([]);
    expect(
      await judgeWith(intent, configuredTargetInvokedOnlyByClient, V2_MEMBER, member(colon)),
    ).toHaveLength(1);
  });

  test("grants on other services are not this policy's business", async () => {
    expect(await grant("user:ops@example.com", { name: "s2s-client" })).toEqual([]);
    expect(await grant("user:ops@example.com", { name: "s2s-target-canary" })).toEqual([]);
  });
});

describe("public-principals-only-on-configured-client", () => {
  const open = (service: Record<string, unknown>, member = "allUsers", type: string = V2_MEMBER) =>
    judge(publicPrincipalsOnlyOnConfiguredClient, type, {
      role: "roles/run.invoker",
      member,
      ...service,
    });

  test.each(["allUsers", "allAuthenticatedUsers"])("%s on the client passes", async (member) => {
    expect(await open({ name: "s2s-client" }, member)).toEqual([]);
    const fullName = "projects/my-project/locations/europe-west1/services/s2s-client";
    expect(await open({ name: fullName }, member)).toEqual([]);
  });

  test.each([
    ["the target", "s2s-target"],
    ["the client's name with a suffix", "s2s-client-x"],
    ["the client's name with a prefix", "xs2s-client"],
    ["the client's name in capitals", "S2S-CLIENT"],
    ["the client's name as a path segment", "projects/p/locations/l/services/s2s-client/x"],
  ])("allUsers on %s is refused", async (_, name) => {
    expect(await open({ name })).toEqual([
      expect.stringContaining(`which is not the stack's public client s2s-client`),
    ]);
  });

  test("allAuthenticatedUsers on the target through Cloud Run v1 IAM is refused", async () => {
    expect(await open({ service: "s2s-target" }, "allAuthenticatedUsers", V1_MEMBER)).toHaveLength(
      1,
    );
  });

  test("a Cloud Run grant naming no service is refused; one whose service is unknown at preview is left to the stack policy", async () => {
    expect(await open({})).toEqual([
      expect.stringContaining("a Cloud Run service it does not name"),
    ]);
    expect(await open({ name: UNKNOWN })).toEqual([]);
  });

  test("a named principal on the target is not this policy's business", async () => {
    expect(await open({ name: "s2s-target" }, CLIENT)).toEqual([]);
  });
});

describe("configured-services-run-as-own-accounts", () => {
  const service = (name: string, serviceAccount: unknown) =>
    judge(configuredServicesRunAsOwnAccounts, V2_SERVICE, { name, template: { serviceAccount } });

  test("the target and the client, each on its own account, pass", async () => {
    expect(await service("s2s-target", TARGET_EMAIL)).toEqual([]);
    expect(await service("s2s-client", CLIENT_EMAIL)).toEqual([]);
  });

  test.each([
    ["the client's account", CLIENT_EMAIL],
    ["its own e-mail with a suffix", `${TARGET_EMAIL}.evil`],
    ["its own e-mail with a prefix", `x${TARGET_EMAIL}`],
    ["its own e-mail in capitals", TARGET_EMAIL.toUpperCase()],
    ["the default compute account", "123456789012-compute@developer.gserviceaccount.com"],
  ])("the target running as %s is refused", async (_, email) => {
    expect(await service("s2s-target", email)).toEqual([
      expect.stringContaining(`is the stack's target s2s-target but runs as ${email}`),
    ]);
  });

  test("another service running as the client's or the target's account is refused", async () => {
    expect(await service("reports", CLIENT_EMAIL)).toEqual([
      expect.stringContaining(`runs as ${CLIENT_EMAIL}, the account of the stack's client`),
    ]);
    expect(await service("reports", TARGET_EMAIL)).toHaveLength(1);
  });

  test("the client running as the target's account is refused once, naming whose account it is", async () => {
    expect(await service("s2s-client", TARGET_EMAIL)).toEqual([
      expect.stringContaining(`runs as ${TARGET_EMAIL}, the target's account, not its own account`),
    ]);
  });

  test("a v1 service is judged by the account its template's spec names", async () => {
    const v1 = { name: "s2s-target", template: { spec: { serviceAccountName: CLIENT_EMAIL } } };
    expect(await judge(configuredServicesRunAsOwnAccounts, V1_SERVICE, v1)).toHaveLength(1);
  });

  test("an account unknown at preview, or none, is left to the other policies", async () => {
    expect(await service("s2s-target", UNKNOWN)).toEqual([]);
    expect(await service("s2s-target", undefined)).toEqual([]);
  });

  test("another service on an account of its own passes", async () => {
    expect(await service("reports", "reports@my-project.iam.gserviceaccount.com")).toEqual([]);
  });
});

describe("ingress-as-configured", () => {
  const INTERNAL = { "cloud-run-private-calls:targetIngress": "internal" };
  const ingress = (
    name: string,
    value: unknown,
    config: Record<string, string> = {},
    type: string = V2_SERVICE,
  ) => judgeWith(intentWith(config), ingressAsConfigured, type, { name, ingress: value });

  test("with targetIngress internal the target takes internal traffic only, and passes", async () => {
    expect(await ingress("s2s-target", "INGRESS_TRAFFIC_INTERNAL_ONLY", INTERNAL)).toEqual([]);
  });

  test.each([
    "INGRESS_TRAFFIC_ALL",
    "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    "INGRESS_TRAFFIC_INTERNAL_ONLY ",
    "ingress_traffic_internal_only",
    "INGRESS_TRAFFIC_INTERNAL",
    "internal",
    undefined,
    UNKNOWN,
  ])("with targetIngress internal the target with ingress %p is refused", async (value) => {
    expect(await ingress("s2s-target", value, INTERNAL)).toEqual([
      expect.stringContaining(
        "is the stack's target s2s-target, whose ingress must be INGRESS_TRAFFIC_INTERNAL_ONLY because targetIngress is internal",
      ),
    ]);
  });

  test("with targetIngress all the target takes all traffic, and internal-only is refused", async () => {
    expect(await ingress("s2s-target", "INGRESS_TRAFFIC_ALL")).toEqual([]);
    expect(await ingress("s2s-target", "INGRESS_TRAFFIC_INTERNAL_ONLY")).toHaveLength(1);
  });

  test("with clientVpcSubnet set the target must take internal traffic only, even with targetIngress all", async () => {
    const subnet = { "cloud-run-private-calls:clientVpcSubnet": "run-egress" };
    expect(await ingress("s2s-target", "INGRESS_TRAFFIC_ALL", subnet)).toEqual([
      expect.stringContaining("because the client sends all its calls through clientVpcSubnet"),
    ]);
    expect(await ingress("s2s-target", "INGRESS_TRAFFIC_INTERNAL_ONLY", subnet)).toEqual([]);
  });

  test("the client takes all traffic whatever the target's setting", async () => {
    expect(await ingress("s2s-client", "INGRESS_TRAFFIC_ALL", INTERNAL)).toEqual([]);
    expect(await ingress("s2s-client", "INGRESS_TRAFFIC_INTERNAL_ONLY", INTERNAL)).toEqual([
      expect.stringContaining("is the stack's client s2s-client, whose ingress must be"),
    ]);
  });

  test("a v1 target is judged by its annotation, whose absence means all traffic", async () => {
    const v1 = (annotations: Record<string, string>) =>
      judge(ingressAsConfigured, V1_SERVICE, { name: "s2s-target", metadata: { annotations } });
    expect(await v1({})).toEqual([]);
    expect(await v1({ "run.googleapis.com/ingress": "internal" })).toHaveLength(1);
  });

  test("a service neither the target nor the client is not this policy's business", async () => {
    expect(await ingress("s2s-target-canary", "INGRESS_TRAFFIC_INTERNAL_ONLY")).toEqual([]);
  });
});
