/**
 * The stack and its policy pack agree: what the program creates, under each configuration that
 * changes access, passes every policy of the pack, as `pulumi preview --policy-pack` would run it.
 */
import type {
  PolicyResource,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { POLICIES } from "../../policy/policies";
import { type Registration, runStack } from "../helpers/pulumiMocks";
import { stackResource, violationsOfResource, violationsOfStack } from "./policyArgs";

function isStackPolicy(
  policy: ResourceValidationPolicy | StackValidationPolicy,
): policy is StackValidationPolicy {
  return "validateStack" in policy;
}

/** The stack's custom resources as stack policies see them: outputs, linked by dependency. */
function asPolicyResources(registrations: Registration[]): PolicyResource[] {
  const custom = registrations.filter((registration) => registration.custom);
  const byUrn = new Map<string, PolicyResource>();
  for (const registration of custom) {
    byUrn.set(
      registration.urn,
      stackResource(registration.type, registration.name, registration.outputs),
    );
  }
  for (const registration of custom) {
    const resource = byUrn.get(registration.urn)!;
    for (const [property, urns] of Object.entries(registration.propertyDependencies)) {
      resource.propertyDependencies[property] = urns.flatMap((urn) => byUrn.get(urn) ?? []);
    }
  }
  return [...byUrn.values()];
}

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
  const resources = asPolicyResources(engine.registrations);
  expect(resources.length).toBeGreaterThan(10);

  const reported: string[] = [];
  for (const policy of POLICIES) {
    if (isStackPolicy(policy)) {
      const violations = await violationsOfStack(policy, resources);
      reported.push(...violations.map((violation) => `${policy.name}: ${violation.message}`));
    } else {
      for (const registration of engine.registrations.filter((r) => r.custom)) {
        const messages = await violationsOfResource(
          policy,
          registration.type,
          registration.inputs,
          registration.name,
        );
        reported.push(...messages.map((message) => `${policy.name}: ${message}`));
      }
    }
  }
  expect(reported).toEqual([]);
});
