import { ValidationError } from "../util/errors.ts";

/** Temp files written by the local backend start with this; such names are never objects. */
export const TEMP_PREFIX = ".tmp-";

/**
 * Checks an object name: slash-separated, relative, no empty, "." or ".." segments, no NUL or
 * backslash, no segment that collides with the local backend's temp files. Every backend applies
 * the same rule so a repository can move between them.
 */
export function validateName(name: string): void {
  if (name === "") throw new ValidationError("object name is empty");
  if (name.includes("\0") || name.includes("\\")) {
    throw new ValidationError(`object name ${JSON.stringify(name)}: contains NUL or backslash`);
  }
  for (const segment of name.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      throw new ValidationError(`object name ${JSON.stringify(name)}: empty, "." or ".." segment`);
    }
    if (segment.startsWith(TEMP_PREFIX)) {
      throw new ValidationError(`object name ${JSON.stringify(name)}: segment starts with ${TEMP_PREFIX}`);
    }
  }
}

/** Prefixes may be empty or end with "/"; they must not contain "." or ".." segments or NUL. */
export function validatePrefix(prefix: string): void {
  if (prefix.includes("\0") || prefix.includes("\\")) {
    throw new ValidationError(`list prefix ${JSON.stringify(prefix)}: contains NUL or backslash`);
  }
  const segments = prefix.split("/");
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (
      segment === "." ||
      segment === ".." ||
      (segment === "" && !last) ||
      (prefix.startsWith("/") && i === 0)
    ) {
      throw new ValidationError(`list prefix ${JSON.stringify(prefix)}: not a relative name prefix`);
    }
  }
}

/** Checks range options; negative or fractional numbers are programming errors worth catching. */
export function validateRange(offset: number | undefined, length: number | undefined): void {
  for (const [label, v] of [
    ["offset", offset],
    ["length", length],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) {
      throw new ValidationError(`range ${label} must be a non-negative integer, got ${v}`);
    }
  }
}
