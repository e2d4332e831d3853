/**
 * `pulumi up --policy-pack policy` of a careless edit under the real engine: the pack, given the
 * stack's configuration by the CLI, refuses the resource that opens the hole before it is
 * created, so the failed `up` leaves it in neither the stack's state nor the cloud. A stack
 * policy would judge it only once everything exists, and what it refused would stay.
 */
import {
  allUsersOnTarget,
  targetIngressHardCodedAll,
  targetInvokerCheckOff,
} from "./carelessEdits";
import { EngineStack } from "./engineStack";

const ENGINE_TEST_MS = 300_000;
const SERVICE = "gcp:cloudrunv2/service:Service";
const SERVICE_MEMBER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember";
const TARGET_KEY = "projects/local-project/locations/europe-west1/services/s2s-target";
/** The chain is not what these tests are about; without its wait an `up` ends sooner. */
const NO_WAIT = { waitForChain: "false" };

let stack: EngineStack | undefined;
afterEach(async () => {
  await stack?.dispose();
  stack = undefined;
});

/** A stack of the program with one edit, brought up with the policy pack. */
async function upWith(edit: (indexTs: string) => string, config: Record<string, string> = {}) {
  stack = await EngineStack.create({ config: { ...NO_WAIT, ...config } });
  await stack.edit("index.ts", edit);
  return { stack, run: await stack.up("--policy-pack", "policy") };
}

/** The mandatory violations a run reports, as `[policy, resource]` pairs. */
function mandatory(output: string): string[] {
  return [...output.matchAll(/\[mandatory\]\s+(\S+)/g)].map(([, policy]) => policy!);
}

test(
  "an allUsers invoker grant on the target is refused before it is created; the target itself is up",
  async () => {
    const { stack, run } = await upWith(allUsersOnTarget);
    expect(run.code).not.toBe(0);
    expect(mandatory(run.output)).toContain("public-principals-only-on-configured-client");
    expect(await stack.named(SERVICE_MEMBER)).not.toContain("target-public");
    expect(await stack.named(SERVICE)).toContain("target-service");
    const cloud = Object.keys(await stack.cloud());
    expect(cloud).toContain(TARGET_KEY);
    expect(cloud.filter((key) => key.includes("allUsers"))).toEqual([]);
  },
  ENGINE_TEST_MS,
);

test(
  "the target with its invoker check switched off is refused before it is created",
  async () => {
    const { stack, run } = await upWith(targetInvokerCheckOff);
    expect(run.code).not.toBe(0);
    expect(mandatory(run.output)).toContain("configured-target-keeps-invoker-check");
    expect(await stack.named(SERVICE)).not.toContain("target-service");
    expect(await stack.named("gcp:serviceaccount/account:Account")).toContain("target-account");
    expect(Object.keys(await stack.cloud())).not.toContain(TARGET_KEY);
  },
  ENGINE_TEST_MS,
);

test(
  "the target with ingress hard-coded to all while targetIngress says internal is refused before it is created",
  async () => {
    const { stack, run } = await upWith(targetIngressHardCodedAll, {
      targetIngress: "internal",
      clientVpcSubnet: "run-egress",
    });
    expect(run.code).not.toBe(0);
    expect(mandatory(run.output)).toContain("ingress-as-configured");
    expect(await stack.named(SERVICE)).not.toContain("target-service");
    expect(Object.keys(await stack.cloud())).not.toContain(TARGET_KEY);
  },
  ENGINE_TEST_MS,
);
