/**
 * Typed, validated reading of environment variables.
 *
 * Every service reads its configuration once, at start, through this module. A missing or
 * malformed variable stops the service with a message that names the variable, instead of a
 * surprise on the first request.
 */
import { asciiLowerCase } from "./text";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /**
   * @param setting the variable (or setting) at fault
   * @param problem what is wrong with it, as the rest of a sentence that starts with its name
   */
  constructor(
    readonly setting: string,
    readonly problem: string,
  ) {
    super(`${setting} ${problem}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Whole numbers only, as written: "1.5", "1e3" and "0x10" are refused, not rounded. */
const INTEGER = /^-?\d+$/;

export interface IntegerOptions {
  min: number;
  max: number;
}

/**
 * Reads a service's environment variables, blank values counting as unset. (The stack's
 * configuration has a reader of its own in config.ts, because Pulumi config is not a map of
 * strings.)
 */
export class EnvReader {
  constructor(private readonly env: Env) {}

  /** The trimmed value, or undefined when the variable is unset or blank. */
  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  /** The value; when it is unset, the error says what the variable should hold (`hint`). */
  required(name: string, hint: string): string {
    const value = this.optional(name);
    if (value === undefined) throw new ConfigError(name, `is required: ${hint}`);
    return value;
  }

  integer(name: string, fallback: number, { min, max }: IntegerOptions): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!INTEGER.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(name, `must be an integer from ${min} to ${max} (got "${raw}")`);
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback?: T): T {
    const raw = this.optional(name);
    if (raw === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(name, `is required: one of ${allowed.join(", ")}`);
    }
    const match = allowed.find((candidate) => candidate === raw.toLowerCase());
    if (match === undefined) {
      throw new ConfigError(name, `must be one of ${allowed.join(", ")} (got "${raw}")`);
    }
    return match;
  }

  /** A comma-separated list; empty entries are dropped. */
  list(name: string): string[] {
    const raw = this.optional(name);
    if (raw === undefined) return [];
    return raw
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item.length > 0);
  }

  /** An absolute http(s) URL without credentials, query or fragment. */
  url(name: string, raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConfigError(name, `must be an absolute http(s) URL (got "${raw}")`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new ConfigError(name, `must use https (or http on loopback) (got "${raw}")`);
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new ConfigError(name, "must not carry credentials, a query or a fragment");
    }
    return url;
  }

  /** The HTTP port, from PORT as Cloud Run sets it. */
  port(): number {
    return this.integer("PORT", 8080, { min: 0, max: 65535 });
  }
}

/** Loopback hosts, where plain http cannot expose a token to the network. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** E-mail addresses, lower-cased in ASCII only (see text.ts), from a list, rejecting entries that are not addresses. */
export function emailList(name: string, entries: string[]): string[] {
  return entries.map((entry) => {
    if (!/^[^@\s]+@[^@\s]+$/.test(entry)) {
      throw new ConfigError(
        name,
        `must list e-mail addresses separated by commas (got "${entry}")`,
      );
    }
    return asciiLowerCase(entry);
  });
}
