/** The storage system's own name for a failure, found under our wrapped errors. */
import { BackappError } from "../util/errors.ts";

/**
 * The code the store itself gave (an S3 error code such as "AccessDenied", "NoSuchBucket",
 * "InvalidAccessKeyId", or a file system code such as "EACCES"), looked for along the `cause`
 * chain under our own error kinds; the name of our kind when the store gave none.
 */
export function storeErrorCode(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; e && depth < 10; depth++) {
    if (!(e instanceof BackappError)) {
      const x = e as { Code?: unknown; code?: unknown; name?: unknown };
      if (typeof x.Code === "string" && x.Code) return x.Code;
      if (typeof x.code === "string" && x.code) return x.code;
      if (typeof x.name === "string" && x.name && x.name !== "Error") return x.name;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.name : "Error";
}
