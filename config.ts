/**
 * The stack's configuration: the one place that reads Pulumi config. Every value is checked
 * here, once, and the program receives plain typed values.
 *
 * Pulumi.yaml declares every key with its description and default, which is what
 * `pulumi config` and the README's table show. The same defaults are repeated below so that the
 * program behaves identically when the CLI has not filled them in; a test keeps the two equal.
 */
import * as gcpConfig from "@pulumi/gcp/config";
import * as pulumi from "@pulumi/pulumi";
import {
  INGRESS,
  PUBLIC_ACCESS,
  type Ingress,
  type PublicAccess,
} from "./components/cloudRunService";
import { TOKEN_HEADERS } from "./services/client/config";
import { ConfigError, EnvReader } from "./services/shared/env";
import type { CredentialHeader } from "./services/shared/bearer";
import { DEFAULT_NAME_PREFIX, TOPOLOGY, serviceAccountId } from "./services/topology";

/** Whole CPUs only: Cloud Run serves concurrent requests only with one CPU or more. */
export const CPU_LIMITS = ["1", "2", "4", "6", "8"] as const;

export interface StackConfig {
  /** The Google Cloud project everything is created in. */
  project: string;
  /** The region of the Cloud Run services and the Artifact Registry repository. */
  region: string;
  /** Prefix of every name the stack creates: service accounts, services, the repository. */
  namePrefix: string;
  /** Who may reach the private services over the network: anyone, or only the project's VPC. */
  targetIngress: Ingress;
  /** An audience the private services accept besides their URL; undefined means the URL. */
  customAudience: string | undefined;
  /** How services declared public in the topology let unauthenticated callers in. */
  publicAccess: PublicAccess;
  /** The header a calling service carries its ID token in. */
  tokenHeader: CredentialHeader;
  /** Whether Cloud Run refuses to delete the services (then `pulumi destroy` fails). */
  deletionProtection: boolean;
  /** Instances each service keeps running when idle. */
  minInstances: number;
  /** Upper bound on the instances of each service. */
  maxInstances: number;
  /** Requests one instance serves at once. */
  concurrency: number;
  /** CPU limit of each instance. */
  cpu: (typeof CPU_LIMITS)[number];
  /** Memory limit of each instance, e.g. `512Mi`. */
  memory: string;
  /** Subnet the calling services send all egress through; required for internal ingress. */
  clientVpcSubnet: string | undefined;
}

/** The keys in the project's namespace and their defaults, exactly as Pulumi.yaml declares them. */
export const PROJECT_DEFAULTS = {
  namePrefix: DEFAULT_NAME_PREFIX,
  targetIngress: "all",
  customAudience: "",
  publicAccess: "invoker-iam-disabled",
  tokenHeader: "authorization",
  deletionProtection: false,
  minInstances: 0,
  maxInstances: 3,
  concurrency: 80,
  cpu: "1",
  memory: "512Mi",
  clientVpcSubnet: "",
} as const;

export type ProjectKey = keyof typeof PROJECT_DEFAULTS;

/** Provider keys the stack reads: `gcp:project` has no default, `gcp:region` has this one. */
export const DEFAULT_REGION = "europe-west1";
export const REQUIRED_KEYS = ["gcp:project"] as const;

/**
 * Raw values as `pulumi config set` stores them: strings, keyed as a user types them
 * (`maxInstances`, `gcp:region`). Absent keys are undefined.
 */
export type RawConfig = Readonly<Record<string, string | undefined>>;

/** A config value the stack cannot use; the message names the key and how to fix it. */
export class StackConfigError extends Error {
  constructor(
    public readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = "StackConfigError";
  }
}

const MEMORY = /^(\d+)(Mi|Gi)$/;
const MIN_MEMORY_MI = 128;
const MAX_MEMORY_MI = 32 * 1024;

function memory(settings: EnvReader, key: ProjectKey & "memory"): string {
  const value = settings.optional(key) ?? PROJECT_DEFAULTS[key];
  const match = MEMORY.exec(value);
  const mebibytes = match === null ? Number.NaN : Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
  if (!(mebibytes >= MIN_MEMORY_MI && mebibytes <= MAX_MEMORY_MI)) {
    throw new ConfigError(
      key,
      `must be a size from ${MIN_MEMORY_MI}Mi to 32Gi written like 512Mi or 1Gi (got "${value}")`,
    );
  }
  return value;
}

/** An optional single token: unset means "not set"; whitespace or commas are never valid. */
function optionalToken(settings: EnvReader, key: ProjectKey): string | undefined {
  const value = settings.optional(key);
  if (value !== undefined && /[\s,]/.test(value)) {
    throw new ConfigError(key, `must not contain spaces or commas (got "${value}")`);
  }
  return value;
}

function namePrefix(settings: EnvReader, key: ProjectKey & "namePrefix"): string {
  const value = settings.optional(key) ?? PROJECT_DEFAULTS[key];
  // The prefix ends up in every service account id, whose rules are the strictest of all the
  // names it is part of, so checking those ids checks the prefix for every declared service.
  const makesValidIds = Object.keys(TOPOLOGY).every((service) => {
    try {
      serviceAccountId(value, service);
      return true;
    } catch {
      return false;
    }
  });
  if (!makesValidIds) {
    throw new ConfigError(
      key,
      `must be lowercase letters, digits and hyphens, start with a letter, and leave every service account id (<prefix>-<service>) 6-30 characters long (got "${value}")`,
    );
  }
  return value;
}

function readSettings(settings: EnvReader): StackConfig {
  const project = settings.required("gcp:project", "the ID of your Google Cloud project");
  const minInstances = settings.integer("minInstances", PROJECT_DEFAULTS.minInstances, {
    min: 0,
    max: 1000,
  });
  const maxInstances = settings.integer("maxInstances", PROJECT_DEFAULTS.maxInstances, {
    min: 1,
    max: 1000,
  });
  if (minInstances > maxInstances) {
    throw new ConfigError(
      "minInstances",
      `must not exceed maxInstances (${minInstances} > ${maxInstances})`,
    );
  }
  const targetIngress = settings.oneOf("targetIngress", INGRESS, PROJECT_DEFAULTS.targetIngress);
  const clientVpcSubnet = optionalToken(settings, "clientVpcSubnet");
  if (targetIngress === "internal" && clientVpcSubnet === undefined) {
    // Cloud Run only counts a call as internal when it leaves the caller through a VPC; without
    // that route every call from the client to an internal-only target would be refused.
    throw new ConfigError(
      "clientVpcSubnet",
      "is required when targetIngress is internal: the subnet (with Private Google Access) the client sends its calls through",
    );
  }
  return {
    project,
    region: settings.optional("gcp:region") ?? DEFAULT_REGION,
    namePrefix: namePrefix(settings, "namePrefix"),
    targetIngress,
    customAudience: optionalToken(settings, "customAudience"),
    publicAccess: settings.oneOf("publicAccess", PUBLIC_ACCESS, PROJECT_DEFAULTS.publicAccess),
    tokenHeader: settings.oneOf("tokenHeader", TOKEN_HEADERS, PROJECT_DEFAULTS.tokenHeader),
    deletionProtection: settings.boolean("deletionProtection", PROJECT_DEFAULTS.deletionProtection),
    minInstances,
    maxInstances,
    concurrency: settings.integer("concurrency", PROJECT_DEFAULTS.concurrency, {
      min: 1,
      max: 1000,
    }),
    cpu: settings.oneOf("cpu", CPU_LIMITS, PROJECT_DEFAULTS.cpu),
    memory: memory(settings, "memory"),
    clientVpcSubnet,
  };
}

/**
 * Checks raw config values and applies the defaults. Throws a {@link StackConfigError} naming
 * the key for the first invalid value, including keys in the project's namespace that the stack
 * does not know (a typo would otherwise be ignored without a word). Values are read with the
 * same reader, and the same rules, as the services read their environment.
 */
export function parseStackConfig(raw: RawConfig): StackConfig {
  for (const [key, value] of Object.entries(raw)) {
    if (value !== undefined && !key.includes(":") && !(key in PROJECT_DEFAULTS)) {
      throw new StackConfigError(
        key,
        `config "${key}" is not a setting of this stack; the settings are ${Object.keys(PROJECT_DEFAULTS).join(", ")}. Remove it with: pulumi config rm ${key}`,
      );
    }
  }
  try {
    return readSettings(new EnvReader(raw));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new StackConfigError(
      error.setting,
      `config "${error.setting}" ${error.problem}. Fix it with: pulumi config set ${error.setting} <value>`,
    );
  }
}

/** Reads the stack's configuration from the Pulumi engine and checks it. */
export function loadStackConfig(): StackConfig {
  const config = new pulumi.Config();
  const raw: Record<string, string | undefined> = {};
  const namespace = `${config.name}:`;
  for (const key of Object.keys(pulumi.runtime.allConfig())) {
    if (key.startsWith(namespace)) {
      const name = key.slice(namespace.length);
      // Config values reach the program as strings; String() keeps that true for any value.
      const value = config.get(name);
      raw[name] = value === undefined ? undefined : String(value);
    }
  }
  // The provider's own lookups, so that the stack and the provider always agree on the project
  // and region, including when they come from GOOGLE_PROJECT or GOOGLE_REGION.
  raw["gcp:project"] = gcpConfig.project;
  raw["gcp:region"] = gcpConfig.region;
  return parseStackConfig(raw);
}
