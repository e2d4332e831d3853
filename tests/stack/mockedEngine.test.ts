/**
 * The mocked engine refuses what the Pulumi engine and CLI refuse, and runs a first preview
 * with the outputs providers compute still unknown, so the stack's tests see what a real
 * `pulumi preview` sees.
 */
import * as pulumi from "@pulumi/pulumi";
import { TYPES, UNKNOWN, runStack, stackConfig, startMockedEngine } from "../helpers/pulumiMocks";

/** The smallest resource a program can declare: a type, a name and no inputs. */
class Thing extends pulumi.CustomResource {
  constructor(type: string, name: string) {
    super(type, name, {});
  }
}

test("a second resource with the same type and name is refused as the engine refuses it", async () => {
  const engine = await startMockedEngine({ config: { "gcp:project": "p" } });
  new Thing("test:index:Thing", "twice");
  new Thing("test:index:Thing", "twice");
  await expect(engine.settle()).rejects.toThrow(
    "Duplicate resource URN 'urn:pulumi:test::cloud-run-private-calls::test:index:Thing::twice'; try giving it a unique name",
  );
});

test("the same name under two types is two resources, which the engine accepts", async () => {
  const engine = await startMockedEngine({ config: { "gcp:project": "p" } });
  new Thing("test:index:Thing", "same");
  new Thing("test:index:Other", "same");
  await expect(engine.settle()).resolves.toBeUndefined();
  expect(engine.registrations).toHaveLength(2);
});

describe("a key Pulumi.yaml declares without a default", () => {
  const declarations = {
    region: { type: "string", description: "where", default: "europe-west1" },
    owner: { type: "string", description: "who" },
  } as const;

  test("without a value in the stack, stops the stack as the CLI does", () => {
    expect(() => stackConfig({}, declarations)).toThrow(
      "Stack 'test' is missing configuration value 'owner'",
    );
  });

  test("with a value in the stack, is handed to the program, beside the other keys' defaults", () => {
    expect(stackConfig({ owner: "ops" }, declarations)).toEqual({
      "cloud-run-private-calls:region": "europe-west1",
      "cloud-run-private-calls:owner": "ops",
    });
  });
});

describe("a first preview", () => {
  test("leaves the outputs providers compute unknown, and every input computed from them", async () => {
    const { engine } = await runStack({}, undefined, "preview");
    const account = engine.named(TYPES.account, "client-account");
    expect(account.inputs.accountId).toBe("s2s-client");
    expect(account.outputs.email).toBe(UNKNOWN);
    const client = engine.named(TYPES.runService, "client-service");
    expect(client.inputs.name).toBe("s2s-client");
    expect(client.inputs.template).toMatchObject({ serviceAccount: UNKNOWN });
    const grant = engine.named(TYPES.runServiceMember, "target-invoker-client");
    expect(grant.inputs.member).toBe(UNKNOWN);
    expect(grant.propertyDependencies.member).toEqual([account.urn]);
  });

  test("knows what the program spells out: ids, names and the target's expected caller", async () => {
    const { engine } = await runStack({}, undefined, "preview");
    const target = engine.named(TYPES.runService, "target-service");
    const env = (
      target.inputs.template as { containers: { envs: { name: string; value: string }[] }[] }
    ).containers[0]!.envs;
    expect(env).toContainEqual({
      name: "ALLOWED_INVOKERS",
      value: "s2s-client@test-project.iam.gserviceaccount.com",
    });
    expect(target.inputs.ingress).toBe("INGRESS_TRAFFIC_ALL");
  });
});
