/**
 * Reading a resource's properties as the pack's server hands them over. During a first
 * `pulumi preview` nothing exists yet: e-mails, URLs and names computed by Google are unknown,
 * and the server's proxy throws when a policy reads one, which skips the whole policy (with a
 * "can't run during preview" advisory). These readers turn that into a value of its own,
 * UNKNOWN, so every rule says what an unknown value means instead of being skipped.
 */
import { UnknownValueError } from "@pulumi/policy";

export type Props = Record<string, unknown>;

/** What a value reads as during a preview when Google has not computed it yet. */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Maybe<T> = T | typeof UNKNOWN;

/** Reads a property, turning the pack server's "unknown during preview" error into UNKNOWN. */
export function read<T>(get: () => T): Maybe<T> {
  try {
    return get();
  } catch (error) {
    if (error instanceof UnknownValueError) return UNKNOWN;
    throw error;
  }
}

export function asProps(value: unknown): Props | undefined {
  return typeof value === "object" && value !== null ? (value as Props) : undefined;
}

export function asText(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A text property: its value, UNKNOWN, or undefined when absent or not text. */
export function text(get: () => unknown): Maybe<string | undefined> {
  const value = read(get);
  return value === UNKNOWN ? UNKNOWN : asText(value);
}

/** The items of a list property, each read on its own: a list can hold a few unknown items. */
export function items(get: () => unknown): Maybe<unknown>[] {
  const list = read(get);
  if (list === UNKNOWN) return [UNKNOWN];
  if (!Array.isArray(list)) return [];
  // Array methods would read every item through the pack's proxy at once; read them one by one.
  return Array.from({ length: list.length }, (_, index) => read(() => list[index] as unknown));
}

/** The last segment of `projects/p/locations/l/services/name`, or the name itself. */
export function lastSegment(reference: string): string {
  return reference.slice(reference.lastIndexOf("/") + 1);
}
