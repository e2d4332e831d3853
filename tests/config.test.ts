/**
 * The stack's configuration: the defaults Pulumi.yaml documents are the ones the program uses,
 * and every invalid value stops the program with a message naming its key.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import {
  DEFAULT_REGION,
  PROJECT_DEFAULTS,
  REQUIRED_KEYS,
  StackConfigError,
  type StackConfig,
  loadStackConfig,
  parseStackConfig,
} from "../config";
import { GCP_PROJECT, startMockedEngine } from "./helpers/pulumiMocks";

interface Declaration {
  type: "string" | "integer" | "boolean";
  description: string;
  default: string | number | boolean;
}

const projectFile = parse(readFileSync(join(__dirname, "..", "Pulumi.yaml"), "utf8")) as {
  config: Record<string, Declaration | string>;
};
const declared = Object.entries(projectFile.config).filter(
  (entry): entry is [string, Declaration] => typeof entry[1] === "object",
);

/** The only config a stack must set. */
const MINIMAL = { "gcp:project": GCP_PROJECT };

/** What the documented default of a key means once the program has read it. */
function meaning(declaration: Declaration): unknown {
  // An empty string is how Pulumi.yaml spells "not set" for optional keys.
  return declaration.default === "" ? undefined : declaration.default;
}

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

describe("Pulumi.yaml", () => {
  test("declares exactly the keys the stack reads", () => {
    expect(declared.map(([key]) => key).sort()).toEqual(Object.keys(PROJECT_DEFAULTS).sort());
  });

  test.each(declared)("declares %s with a type, a description and a default", (_, declaration) => {
    expect(["string", "integer", "boolean"]).toContain(declaration.type);
    expect(declaration.description).toMatch(/\w+ \w+ \w+/);
    expect(declaration).toHaveProperty("default");
  });

  test("sets the region the stack assumes when none is configured, and no project", () => {
    expect(projectFile.config["gcp:region"]).toBe(DEFAULT_REGION);
    expect(projectFile.config).not.toHaveProperty("gcp:project");
  });

  test.each(declared)(
    "the documented default of %s is what the stack uses when it is not set",
    (key, declaration) => {
      const config = parseStackConfig(MINIMAL);
      expect(config[key as keyof StackConfig]).toEqual(meaning(declaration));
    },
  );

  test("a stack with nothing but gcp:project gets the documented region", () => {
    expect(parseStackConfig(MINIMAL).region).toBe(DEFAULT_REGION);
  });
});

describe("invalid configuration", () => {
  test.each(REQUIRED_KEYS)("%s is required, and its absence is reported by name", (key) => {
    expect(() => parseStackConfig({})).toThrow(`config "${key}" is required`);
    expect(() => parseStackConfig({ [key]: "" })).toThrow(`config "${key}" is required`);
  });

  test.each([
    ["namePrefix", "S2S"],
    ["namePrefix", "s2s_"],
    ["namePrefix", "a-prefix-far-too-long-for-ids"],
    ["targetIngress", "private"],
    ["publicAccess", "open"],
    ["tokenHeader", "cookie"],
    ["deletionProtection", "yes"],
    ["minInstances", "-1"],
    ["minInstances", "1.5"],
    ["maxInstances", "0"],
    ["maxInstances", "many"],
    ["maxInstances", "1001"],
    ["concurrency", "0"],
    ["cpu", "3"],
    ["memory", "64Mi"],
    ["memory", "64Gi"],
    ["memory", "1TB"],
    ["customAudience", "two words"],
    ["clientVpcSubnet", "a,b"],
  ])("%s=%j is refused with a message naming the key and how to fix it", (key, value) => {
    const attempt = (): StackConfig => parseStackConfig({ ...MINIMAL, [key]: value });
    expect(attempt).toThrow(StackConfigError);
    expect(attempt).toThrow(`config "${key}"`);
    expect(attempt).toThrow(`(got "${value}")`);
    expect(attempt).toThrow(`pulumi config set ${key} <value>`);
  });

  test("minInstances above maxInstances is refused", () => {
    expect(() => parseStackConfig({ ...MINIMAL, minInstances: "4", maxInstances: "2" })).toThrow(
      'config "minInstances" must not exceed maxInstances (4 > 2)',
    );
  });

  test("internal target ingress without a subnet for the client is refused", () => {
    expect(() => parseStackConfig({ ...MINIMAL, targetIngress: "internal" })).toThrow(
      'config "clientVpcSubnet" is required when targetIngress is internal',
    );
    expect(
      parseStackConfig({ ...MINIMAL, targetIngress: "internal", clientVpcSubnet: "run-egress" }),
    ).toMatchObject({ targetIngress: "internal", clientVpcSubnet: "run-egress" });
  });

  test("a key the stack does not know is refused rather than ignored", () => {
    expect(() => parseStackConfig({ ...MINIMAL, maxInstance: "5" })).toThrow(
      'config "maxInstance" is not a setting of this stack',
    );
  });
});

describe("loadStackConfig", () => {
  test("reads the stack's own keys and the gcp provider's keys from Pulumi config", async () => {
    await startMockedEngine({
      config: {
        "gcp:project": "my-project",
        "gcp:region": "us-central1",
        maxInstances: "7",
        deletionProtection: "true",
        "other:setting": "ignored",
      },
    });
    expect(loadStackConfig()).toMatchObject({
      project: "my-project",
      region: "us-central1",
      maxInstances: 7,
      deletionProtection: true,
      minInstances: 0,
    });
  });

  test("finds the project where the provider does when gcp:project is not set", async () => {
    await startMockedEngine();
    expect(() => loadStackConfig()).toThrow('config "gcp:project" is required');
    process.env.GOOGLE_PROJECT = "from-environment";
    expect(loadStackConfig().project).toBe("from-environment");
  });

  test("refuses an unknown key in the stack's namespace", async () => {
    await startMockedEngine({ config: { ...MINIMAL, maxInstance: "5" } });
    expect(() => loadStackConfig()).toThrow('config "maxInstance" is not a setting of this stack');
  });
});
