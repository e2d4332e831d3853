/**
 * The stack's configuration: the defaults Pulumi.yaml declares are the ones the program uses,
 * and every invalid value stops the program with a message naming its key.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { STACK_KEYS, type StackConfig, loadStackConfig } from "../config";
import { GCP_PROJECT, startMockedEngine } from "./helpers/pulumiMocks";
import { type ConfigDeclaration, projectConfig } from "../local/projectFile";

const declarations = projectConfig();
const declared = Object.entries(declarations).filter(
  (entry): entry is [string, Exclude<ConfigDeclaration, string>] => typeof entry[1] === "object",
);

/** The provider variables gcp:project and gcp:region fall back to, cleared for every test. */
const PROVIDER_ENV = [
  "GOOGLE_PROJECT",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "CLOUDSDK_CORE_PROJECT",
  "GOOGLE_REGION",
  "GCLOUD_REGION",
  "CLOUDSDK_COMPUTE_REGION",
];
const savedEnv = Object.fromEntries(PROVIDER_ENV.map((name) => [name, process.env[name]]));

beforeEach(() => {
  for (const name of PROVIDER_ENV) delete process.env[name];
});

afterAll(() => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value !== undefined) process.env[name] = value;
  }
});

/**
 * The configuration the program reads for a stack that sets `config` (plus gcp:project), on top
 * of Pulumi.yaml's defaults as the CLI supplies them.
 */
async function stackConfig(config: Record<string, string> = {}): Promise<StackConfig> {
  await startMockedEngine({ config: { "gcp:project": GCP_PROJECT, ...config } });
  return loadStackConfig();
}

/** The error the program stops with for `config`. */
async function refusal(config: Record<string, string>): Promise<string> {
  try {
    await stackConfig(config);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(config)} was accepted`);
}

describe("Pulumi.yaml", () => {
  test("declares exactly the keys the stack reads", () => {
    expect(declared.map(([key]) => key).sort()).toEqual([...STACK_KEYS].sort());
  });

  test.each(declared)("declares %s with a type, a description and a default", (_, declaration) => {
    expect(["string", "integer", "boolean"]).toContain(declaration.type);
    expect(declaration.description).toMatch(/\w+ \w+ \w+/);
    expect(declaration).toHaveProperty("default");
  });

  test("sets a region for every stack, and no project", () => {
    expect(declarations["gcp:region"]).toBe("europe-west1");
    expect(declarations).not.toHaveProperty("gcp:project");
  });

  test.each(declared)(
    "the declared default of %s is what the program reads for a stack that does not set it",
    async (key, declaration) => {
      const config = await stackConfig();
      const values: Record<string, unknown> = {
        ...config,
        ...config.cloudRun,
        ...config.cloudRun.scaling,
        ...config.cloudRun.resources,
        keepImageVersions: config.imageRetention.keepVersions,
        deleteUntaggedImagesAfterDays: config.imageRetention.deleteUntaggedAfterDays,
      };
      // An empty string is how Pulumi.yaml spells "not set" for optional keys.
      const meaning = declaration.default === "" ? undefined : declaration.default;
      expect(values[key]).toEqual(meaning);
    },
  );

  test("a stack with nothing but gcp:project gets the declared region", async () => {
    expect((await stackConfig()).region).toBe("europe-west1");
  });
});

describe("Pulumi.dev.yaml", () => {
  test("names no project, so that an unconfigured dev stack stops at the missing gcp:project", () => {
    const file = readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8");
    const stack = parse(file) as { config?: Record<string, unknown> };
    expect(stack.config ?? {}).not.toHaveProperty("gcp:project");
    expect(file).toContain("pulumi config set gcp:project <your-project-id>");
  });
});

describe("invalid configuration", () => {
  test("gcp:project is required, and its absence is reported by name", async () => {
    await startMockedEngine();
    expect(() => loadStackConfig()).toThrow("config gcp:project is required");
  });

  test.each(["Europe", "europe-west", "europe-west1-b", "eu west1", ""])(
    "gcp:region %p, not a region, is refused by name",
    async (region) => {
      expect(await refusal({ "gcp:region": region })).toContain(
        "config gcp:region must be a Google Cloud region like europe-west1",
      );
    },
  );

  test("regions with more than two words and more than one digit are accepted", async () => {
    const config = await stackConfig({ "gcp:region": "northamerica-northeast2" });
    expect(config.region).toBe("northamerica-northeast2");
    expect((await stackConfig({ "gcp:region": "asia-southeast10" })).region).toBe(
      "asia-southeast10",
    );
  });

  test("the project is found where the provider finds it when gcp:project is not set", async () => {
    await startMockedEngine();
    process.env.GOOGLE_PROJECT = "from-environment";
    expect(loadStackConfig().project).toBe("from-environment");
  });

  test.each([
    ["namePrefix", "S2S"],
    ["namePrefix", "s2s_"],
    ["namePrefix", "a-prefix-far-too-long-for-ids"],
    ["targetIngress", "private"],
    ["publicAccess", "open"],
    ["tokenHeader", "cookie"],
    ["targetAuthMode", "none"],
    ["targetAuthMode", "verify-lite"],
    ["deletionProtection", "yes"],
    ["minInstances", "-1"],
    ["minInstances", "1.5"],
    ["maxInstances", "0"],
    ["maxInstances", "many"],
    ["maxInstances", "1001"],
    ["concurrency", "0"],
    ["cpu", "3"],
    ["memory", "64Mi"],
    ["memory", "128Mi"],
    ["memory", "255Mi"],
    ["billing", "per-request"],
    ["billing", "Request-based"],
    ["memory", "64Gi"],
    ["memory", "1TB"],
    ["customAudience", "two words"],
    ["clientVpcSubnet", "a,b"],
    ["keepImageVersions", "0"],
    ["keepImageVersions", "101"],
    ["deleteUntaggedImagesAfterDays", "0"],
    ["deleteUntaggedImagesAfterDays", "2.5"],
    ["buildOnPreview", "sometimes"],
    ["waitForChain", "later"],
    ["waitForChainMinutes", "0"],
    ["waitForChainMinutes", "61"],
  ])("%s=%j is refused with a message naming the key and the value", async (key, value) => {
    const message = await refusal({ [key]: value });
    expect(message).toMatch(new RegExp(`\\b${key}\\b`));
    expect(message).toContain(value);
  });

  test.each([
    ["1", "4Gi", "4097Mi", "256Mi to 4Gi"],
    ["2", "8Gi", "9Gi", "256Mi to 8Gi"],
    ["4", "2Gi", "2047Mi", "2Gi to 16Gi"],
    ["4", "16Gi", "17Gi", "2Gi to 16Gi"],
    ["6", "4Gi", "3Gi", "4Gi to 24Gi"],
    ["6", "24Gi", "25Gi", "4Gi to 24Gi"],
    ["8", "32Gi", "4095Mi", "4Gi to 32Gi"],
  ])(
    "with cpu=%s, memory=%s is accepted and memory=%s refused: Cloud Run allows %s",
    async (cpu, accepted, refused, range) => {
      expect((await stackConfig({ cpu, memory: accepted })).cloudRun.resources).toMatchObject({
        cpu,
        memory: accepted,
      });
      const message = await refusal({ cpu, memory: refused });
      expect(message).toContain(`config "memory" must be from ${range} when cpu is ${cpu}`);
      expect(message).toContain(`(got "${refused}")`);
    },
  );

  test("256Mi is the least memory accepted; 128Mi, which Cloud Run allows, is refused", async () => {
    expect((await stackConfig({ memory: "256Mi" })).cloudRun.resources.memory).toBe("256Mi");
    expect(await refusal({ memory: "128Mi" })).toContain(
      'config "memory" must be a size from 256Mi to 32Gi written like 512Mi or 1Gi (got "128Mi")',
    );
  });

  test("billing is request-based by default and instance-based when configured", async () => {
    expect((await stackConfig()).cloudRun.billing).toBe("request-based");
    expect((await stackConfig({ billing: "instance-based" })).cloudRun.billing).toBe(
      "instance-based",
    );
  });

  test("the default memory with 4 CPUs is refused before Cloud Run would refuse it", async () => {
    expect(await refusal({ cpu: "4" })).toContain(
      'config "memory" must be from 2Gi to 16Gi when cpu is 4, as Cloud Run requires (got "512Mi")',
    );
  });

  test("minInstances above maxInstances is refused", async () => {
    expect(await refusal({ minInstances: "4", maxInstances: "2" })).toContain(
      'config "minInstances" must not exceed maxInstances (4 > 2)',
    );
  });

  test("internal target ingress without a subnet for the client is refused", async () => {
    expect(await refusal({ targetIngress: "internal" })).toContain(
      'config "clientVpcSubnet" is required when targetIngress is internal',
    );
    expect(
      await stackConfig({ targetIngress: "internal", clientVpcSubnet: "run-egress" }),
    ).toMatchObject({ targetIngress: "internal", clientVpcSubnet: "run-egress" });
  });

  test("a key the stack does not know is refused rather than ignored", async () => {
    expect(await refusal({ maxInstance: "5" })).toContain(
      'config "maxInstance" is not a setting of this stack',
    );
  });
});

test("the stack's own keys and the provider's keys are read from Pulumi config", async () => {
  const config = await stackConfig({
    "gcp:project": "my-project",
    "gcp:region": "us-central1",
    maxInstances: "7",
    deletionProtection: "true",
    "other:setting": "ignored",
  });
  expect(config).toMatchObject({
    project: "my-project",
    region: "us-central1",
    cloudRun: { scaling: { minInstances: 0, maxInstances: 7 }, deletionProtection: true },
  });
});
