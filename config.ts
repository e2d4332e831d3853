/**
 * The stack's configuration: the one place that reads Pulumi config. Every value is checked
 * here, once, and the program receives plain typed values.
 *
 * Pulumi.yaml declares every key with its description and its default, and the Pulumi CLI hands
 * the program those defaults for any key a stack does not set; no default is repeated here.
 * Single values are checked with Pulumi's own typed getters, whose errors name the key; rules
 * between keys are checked below, with errors that name the keys and say how to fix them.
 */
import * as gcpConfig from "@pulumi/gcp/config";
import * as pulumi from "@pulumi/pulumi";
import {
  BILLING,
  PUBLIC_ACCESS,
  type Billing,
  type PublicAccess,
} from "./components/cloudRunService";
import {
  INGRESS,
  TARGET_AUTH_MODES,
  TOKEN_HEADERS,
  type Ingress,
  type TargetAuthMode,
  type TokenHeader,
} from "./services/wiring";
import { mebibytes, MIN_MEMORY_MIB } from "./services/nodeCommand";

/** Whole CPUs only: Cloud Run serves concurrent requests only with one CPU or more. */
export const CPU_LIMITS = ["1", "2", "4", "6", "8"] as const;

export interface StackConfig {
  /** The Google Cloud project everything is created in. */
  project: string;
  /** The region of the Cloud Run services and the Artifact Registry repository. */
  region: string;
  /** Prefix of every name the stack creates: service accounts, services, the repository. */
  namePrefix: string;
  /** Who may reach the target over the network: anyone, or only the project's VPC. */
  targetIngress: Ingress;
  /** Subnet the client sends all its egress through; required for internal ingress. */
  clientVpcSubnet: string | undefined;
  /** An audience the target accepts besides its URL; undefined means the URL. */
  customAudience: string | undefined;
  /** How the client lets unauthenticated callers in. */
  publicAccess: PublicAccess;
  /** Whether the target verifies every token itself (verify) or trusts Cloud Run's check. */
  targetAuthMode: TargetAuthMode;
  /** The one header the client carries its ID token in when targetAuthMode is cloud-run. */
  tokenHeader: TokenHeader;
  /** What both Cloud Run services are given. */
  cloudRun: {
    /** Whether the Google provider refuses to delete or replace the services (a state guard). */
    deletionProtection: boolean;
    /** Instances each service keeps running when idle, and at most. */
    scaling: { minInstances: number; maxInstances: number };
    /** Per instance: CPU limit, memory limit (e.g. `512Mi`) and requests served at once. */
    resources: { cpu: (typeof CPU_LIMITS)[number]; memory: string; concurrency: number };
    /** Whether instances are billed (and get CPU) per request or for their whole lifetime. */
    billing: Billing;
  };
  /** How many image versions the registry keeps, and when it drops untagged ones. */
  imageRetention: { keepVersions: number; deleteUntaggedAfterDays: number };
  /** Whether `pulumi preview` builds the images too, to surface Dockerfile errors early. */
  buildOnPreview: boolean;
  /** Whether `pulumi up` waits, after a change to the chain, until the client's call works. */
  waitForChain: boolean;
  /** How long that wait may take before `pulumi up` fails. */
  waitForChainMinutes: number;
}

/** The keys in the project's namespace, each declared with its default in Pulumi.yaml. */
export const STACK_KEYS = [
  "namePrefix",
  "targetIngress",
  "clientVpcSubnet",
  "customAudience",
  "publicAccess",
  "targetAuthMode",
  "tokenHeader",
  "deletionProtection",
  "minInstances",
  "maxInstances",
  "concurrency",
  "cpu",
  "memory",
  "billing",
  "keepImageVersions",
  "deleteUntaggedImagesAfterDays",
  "buildOnPreview",
  "waitForChain",
  "waitForChainMinutes",
] as const;

type StackKey = (typeof STACK_KEYS)[number];

/** A config value the stack cannot use; the message names the key and how to fix it. */
export class StackConfigError extends Error {
  override readonly name = "StackConfigError";
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`config "${key}" ${problem}. Fix it with: pulumi config set ${key} <value>`);
  }
}

/**
 * The prefix ends up in the service-account ids `<prefix>-target` and `<prefix>-client`, whose
 * rules are the strictest of all the names it is part of: at most 30 characters, lowercase
 * letters, digits and hyphens, starting with a letter.
 */
const NAME_PREFIX = /^[a-z][a-z0-9-]{0,22}$/;
/** A Google Cloud region: `europe-west1`, `us-central1`, `northamerica-northeast2`. */
const REGION = /^[a-z]+-[a-z]+\d+$/;
/**
 * Cloud Run's memory limits run from 128 MiB to 32 GiB. The stack starts at 256 MiB: the heap
 * rule (services/nodeCommand.ts) is shown to carry the benchmark's 256 concurrent requests from
 * there on, while at 128 MiB a service's resident memory under that load comes too close to the
 * limit, where Cloud Run stops the instance.
 */
const MIN_MEMORY_MI = MIN_MEMORY_MIB;
const MAX_MEMORY_MI = 32 * 1024;

/**
 * The memory Cloud Run accepts with each CPU limit, in MiB, from its documentation: more than
 * 4, 8, 16 and 24 GiB need at least 2, 4, 6 and 8 CPUs
 * (https://cloud.google.com/run/docs/configuring/services/memory-limits), and 4, 6 and 8 CPUs
 * need at least 2, 4 and 4 GiB (https://cloud.google.com/run/docs/configuring/services/cpu).
 * Cloud Run's one concurrency rule for CPU, concurrency 1 below one CPU, cannot apply: the
 * stack offers whole CPUs only.
 */
const MEMORY_RANGE_MI: Record<(typeof CPU_LIMITS)[number], [number, number]> = {
  "1": [MIN_MEMORY_MI, 4 * 1024],
  "2": [MIN_MEMORY_MI, 8 * 1024],
  "4": [2 * 1024, 16 * 1024],
  "6": [4 * 1024, 24 * 1024],
  "8": [4 * 1024, 32 * 1024],
};

/** A size in MiB as Cloud Run writes it: whole GiB as `Gi`, the rest as `Mi`. */
function size(mebibytes: number): string {
  return mebibytes % 1024 === 0 ? `${mebibytes / 1024}Gi` : `${mebibytes}Mi`;
}

class Reader {
  private readonly config = new pulumi.Config();

  string(key: StackKey): string {
    return this.config.require(key);
  }

  /** Pulumi.yaml spells "not set" as an empty default. */
  optionalToken(key: StackKey): string | undefined {
    const value = this.config.get(key)?.trim();
    if (value !== undefined && /[\s,]/.test(value)) {
      throw new StackConfigError(key, `must not contain spaces or commas (got "${value}")`);
    }
    return value === "" ? undefined : value;
  }

  oneOf<T extends string>(key: StackKey, allowedValues: readonly T[]): T {
    return this.config.require<T>(key, { allowedValues: [...allowedValues] });
  }

  integer(key: StackKey, min: number, max: number): number {
    const value = this.config.requireNumber(key, { min, max });
    if (!Number.isInteger(value)) {
      throw new StackConfigError(
        key,
        `must be a whole number from ${min} to ${max} (got ${value})`,
      );
    }
    return value;
  }

  boolean(key: StackKey): boolean {
    return this.config.requireBoolean(key);
  }

  /** Keys in the project's namespace that the stack does not read: most likely typos. */
  unknownKeys(): string[] {
    const namespace = `${this.config.name}:`;
    return Object.keys(pulumi.runtime.allConfig())
      .filter((key) => key.startsWith(namespace))
      .map((key) => key.slice(namespace.length))
      .filter((key) => !(STACK_KEYS as readonly string[]).includes(key));
  }
}

/** The CPU and memory limits, checked together as Cloud Run checks them. */
function resourceLimits(
  reader: Reader,
): Pick<StackConfig["cloudRun"]["resources"], "cpu" | "memory"> {
  const cpu = reader.oneOf("cpu", CPU_LIMITS);
  const memory = reader.string("memory");
  const memoryMiB = mebibytes(memory);
  if (!(memoryMiB >= MIN_MEMORY_MI && memoryMiB <= MAX_MEMORY_MI)) {
    throw new StackConfigError(
      "memory",
      `must be a size from ${MIN_MEMORY_MI}Mi to 32Gi written like 512Mi or 1Gi (got "${memory}")`,
    );
  }
  const [least, most] = MEMORY_RANGE_MI[cpu];
  if (memoryMiB < least || memoryMiB > most) {
    throw new StackConfigError(
      "memory",
      `must be from ${size(least)} to ${size(most)} when cpu is ${cpu}, as Cloud Run requires (got "${memory}"); or change cpu (pulumi config set cpu <1, 2, 4, 6 or 8>)`,
    );
  }
  return { cpu, memory };
}

/** Reads the stack's configuration from the Pulumi engine and checks it. */
export function loadStackConfig(): StackConfig {
  const reader = new Reader();
  const [unknown] = reader.unknownKeys();
  if (unknown !== undefined) {
    throw new Error(
      `config "${unknown}" is not a setting of this stack; the settings are ${STACK_KEYS.join(", ")}. Remove it with: pulumi config rm ${unknown}`,
    );
  }
  // The provider's own lookups, so that the stack and the provider always agree on the project
  // and region, including when they come from GOOGLE_PROJECT or GOOGLE_REGION.
  const project = gcpConfig.project;
  if (project === undefined || project.trim() === "") {
    throw new Error(
      "config gcp:project is required: the ID of your Google Cloud project. Set it with: pulumi config set gcp:project <your-project-id>",
    );
  }
  const region = gcpConfig.region;
  if (region === undefined || !REGION.test(region)) {
    throw new Error(
      `config gcp:region must be a Google Cloud region like europe-west1 (got ${region === undefined ? "nothing" : `"${region}"`}). Set it with: pulumi config set gcp:region <region>`,
    );
  }

  const namePrefix = reader.string("namePrefix");
  if (!NAME_PREFIX.test(namePrefix)) {
    throw new StackConfigError(
      "namePrefix",
      `must be 1-23 lowercase letters, digits and hyphens starting with a letter, so that the service account ids <prefix>-target and <prefix>-client are valid (got "${namePrefix}")`,
    );
  }
  const minInstances = reader.integer("minInstances", 0, 1000);
  const maxInstances = reader.integer("maxInstances", 1, 1000);
  if (minInstances > maxInstances) {
    throw new StackConfigError(
      "minInstances",
      `must not exceed maxInstances (${minInstances} > ${maxInstances})`,
    );
  }
  const targetIngress = reader.oneOf("targetIngress", INGRESS);
  const clientVpcSubnet = reader.optionalToken("clientVpcSubnet");
  if (targetIngress === "internal" && clientVpcSubnet === undefined) {
    // Cloud Run only counts a call as internal when it leaves the caller through a VPC; without
    // that route every call from the client to an internal-only target would be refused.
    throw new StackConfigError(
      "clientVpcSubnet",
      "is required when targetIngress is internal: the subnet (with Private Google Access) the client sends its calls through",
    );
  }
  return {
    project,
    region,
    namePrefix,
    targetIngress,
    clientVpcSubnet,
    customAudience: reader.optionalToken("customAudience"),
    publicAccess: reader.oneOf("publicAccess", PUBLIC_ACCESS),
    targetAuthMode: reader.oneOf("targetAuthMode", TARGET_AUTH_MODES),
    tokenHeader: reader.oneOf("tokenHeader", TOKEN_HEADERS),
    cloudRun: {
      deletionProtection: reader.boolean("deletionProtection"),
      scaling: { minInstances, maxInstances },
      resources: { ...resourceLimits(reader), concurrency: reader.integer("concurrency", 1, 1000) },
      billing: reader.oneOf("billing", BILLING),
    },
    imageRetention: {
      keepVersions: reader.integer("keepImageVersions", 1, 100),
      deleteUntaggedAfterDays: reader.integer("deleteUntaggedImagesAfterDays", 1, 365),
    },
    buildOnPreview: reader.boolean("buildOnPreview"),
    waitForChain: reader.boolean("waitForChain"),
    waitForChainMinutes: reader.integer("waitForChainMinutes", 1, 60),
  };
}
