/** Pulumi.yaml as the Pulumi CLI reads it: the project's config keys and their defaults. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";

/** A key's declaration in Pulumi.yaml: a plain value (provider keys) or a typed schema. */
export type ConfigDeclaration =
  | string
  | {
      type: "string" | "integer" | "boolean";
      description: string;
      // A key without a default must be set by every stack.
      default?: string | number | boolean;
    };

/** The nearest Pulumi.yaml above this module, as the Pulumi CLI finds a program's project. */
function projectFile(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, "Pulumi.yaml");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`no Pulumi.yaml above ${__dirname}`);
  }
}

/** Pulumi.yaml's `config` section, as the project declares it. */
export function projectConfig(): Record<string, ConfigDeclaration> {
  // Read once per process: every local stack start asks it for several defaults.
  declared ??= (parse(readFileSync(projectFile(), "utf8")) as { config: Declarations }).config;
  return declared;
}

type Declarations = Record<string, ConfigDeclaration>;
let declared: Declarations | undefined;

/**
 * The default Pulumi.yaml gives `key`, one of the values `allowed`: how the local stack runs the
 * services as a deployed stack with nothing set would, without writing the default again.
 */
export function projectDefault<Value extends string>(
  key: string,
  allowed: readonly Value[] = [],
): Value {
  const declaration = projectConfig()[key];
  const value = String(typeof declaration === "string" ? declaration : declaration?.default);
  if (allowed.length > 0 && !(allowed as readonly string[]).includes(value)) {
    throw new Error(
      `Pulumi.yaml's default for ${key} is ${value}, not one of ${allowed.join(", ")}`,
    );
  }
  return value as Value;
}
