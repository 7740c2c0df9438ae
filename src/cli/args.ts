import { parseArgs as nodeParseArgs } from "node:util";
import { didYouMean } from "./suggest.ts";

/** Bad command-line usage: printed as one line plus the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface FlagSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

type FlagValue<S extends FlagSpec> = S["type"] extends "boolean"
  ? S["multiple"] extends true
    ? boolean[]
    : boolean
  : S["multiple"] extends true
    ? string[]
    : string;

export type ParsedFlags<T extends FlagSpecs> = { [K in keyof T]?: FlagValue<T[K]> };

export interface Parsed<T extends FlagSpecs> {
  flags: ParsedFlags<T>;
  positionals: string[];
}

/**
 * Strict parsing: unknown flags, missing values and flags given a value they don't take are
 * UsageErrors with a one-line message. `--` ends flags.
 */
export function parseFlags<T extends FlagSpecs>(argv: string[], specs: T): Parsed<T> {
  try {
    const { values, positionals } = nodeParseArgs({
      args: argv,
      options: specs,
      allowPositionals: true,
      strict: true,
    });
    return { flags: values as ParsedFlags<T>, positionals };
  } catch (error) {
    throw new UsageError(cleanMessage(error, Object.keys(specs)));
  }
}

function cleanMessage(error: unknown, names: string[]): string {
  const raw = error instanceof Error ? error.message : String(error);
  const unknown = /Unknown option '([^']+)'/.exec(raw);
  if (unknown) {
    const flag = unknown[1] ?? "";
    return `unknown flag ${flag}${didYouMean(flag.replace(/^-+/, ""), names, "--")}`;
  }
  const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(raw);
  if (missing) return `flag ${missing[1]?.split(",").pop()?.trim()} needs a value`;
  const noValue = /Option '([^']+)' does not take an argument/.exec(raw);
  if (noValue) return `flag ${noValue[1]} does not take a value`;
  // "--keep-last -1": a value that looks like a flag; it is never a valid value here.
  const ambiguous = /Option '([^']+)' argument is ambiguous/.exec(raw);
  if (ambiguous) {
    return `flag ${ambiguous[1]?.split(",").pop()?.trim()} got a value that looks like a flag (write --flag=VALUE if it is meant)`;
  }
  return raw.split("\n")[0] ?? raw;
}

/** Parses a non-negative integer flag value, or throws a UsageError naming the flag. */
export function intFlag(name: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER) {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`flag --${name} needs a whole number from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "5m", "1h30m", "2d" → milliseconds; UsageError naming the flag otherwise. */
export function durationFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value) {
    throw new UsageError(`flag --${name} needs a duration such as 30s, 5m or 1h30m, got "${value}"`);
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}
