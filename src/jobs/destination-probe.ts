/**
 * "Test connection" and "which buckets": can these settings list, write, read back and delete a
 * probe object, and which buckets can the credentials list. Answers name the step that failed and
 * the store's own error code; never a key. Stored credentials are used only for destinations the
 * caller may see.
 */
import { randomBytes } from "node:crypto";
import { FieldError } from "../auth/errors.ts";
import type { Principal } from "../auth/permissions.ts";
import { type DestinationRow, destinationSecrets, storedSettings } from "../db/destinations.ts";
import { SecretBoxError } from "../db/secret-box.ts";
import type { Backend } from "../storage/backend.ts";
import { storeErrorCode } from "../storage/error-code.ts";
import { openBackend, type S3Settings } from "../storage/open.ts";
import { type BucketInfo, listS3Buckets } from "../storage/s3-buckets.ts";
import { PermanentStorageError, TransientStorageError } from "../util/errors.ts";
import type { S3ProbeInput } from "./destination-schema.ts";
import { type DestinationDeps, getDestination } from "./destinations.ts";
import { caBundleOf } from "./repository-access.ts";

export type ProbeStep = "settings" | "list" | "write" | "read" | "delete";

export type ProbeResult =
  | { ok: true; steps: ProbeStep[] }
  | { ok: false; step: ProbeStep; code: string; message: string; steps: ProbeStep[] };

/** Lists, writes, reads back and deletes a small probe object; stops at the first failing step. */
export async function probeBackend(backend: Backend): Promise<ProbeResult> {
  const name = `backapp-probe-${randomBytes(8).toString("hex")}`;
  const body = randomBytes(64);
  const done: ProbeStep[] = [];
  const steps: [ProbeStep, () => Promise<void>][] = [
    [
      "list",
      async () => {
        for await (const _ of backend.list("")) break;
      },
    ],
    ["write", () => backend.put(name, body)],
    [
      "read",
      async () => {
        const back = await backend.get(name);
        if (!Buffer.from(back).equals(body)) {
          throw Object.assign(new Error("the probe object read back differs from what was written"), {
            code: "ContentMismatch",
          });
        }
      },
    ],
    ["delete", () => backend.delete(name)],
  ];
  for (const [step, run] of steps) {
    try {
      await run();
      done.push(step);
    } catch (error) {
      if (step === "read") await backend.delete(name).catch(() => {});
      return { ok: false, step, code: storeErrorCode(error), message: (error as Error).message, steps: done };
    }
  }
  return { ok: true, steps: done };
}

/** Runs the probe against an address and S3 settings, without retries (a test should answer quickly). */
export async function probeAddress(address: string, s3: S3Settings): Promise<ProbeResult> {
  let backend: Backend;
  try {
    backend = openBackend(address, s3, { retry: { attempts: 1 } });
  } catch (error) {
    return {
      ok: false,
      step: "settings",
      code: storeErrorCode(error),
      message: (error as Error).message,
      steps: [],
    };
  }
  try {
    return await probeBackend(backend);
  } finally {
    await backend.close().catch(() => {});
  }
}

/** The stored secret key, or undefined when the server key no longer opens it (the user re-enters it). */
function storedSecretKey(dataDir: string, row: DestinationRow): string | undefined {
  try {
    return destinationSecrets(dataDir, row).secretAccessKey?.reveal();
  } catch (error) {
    if (error instanceof SecretBoxError) return undefined;
    throw error;
  }
}

/**
 * The S3 settings a probe uses: the input's, with the stored secret key (and, for an id alone,
 * every stored setting) of a destination the caller may see.
 */
export function resolveProbeSettings(
  deps: DestinationDeps,
  p: Principal,
  input: S3ProbeInput,
): { settings: S3Settings; bucket?: string; prefix: string } {
  const bundle = caBundleOf(deps);
  const ca = (pem: string | null | undefined) => [pem, bundle].filter(Boolean).join("\n") || undefined;
  if (input.destinationId === undefined) {
    if (!input.secretAccessKey) throw new FieldError({ secretAccessKey: "Enter the secret access key." });
    const settings = {
      region: input.region,
      endpoint: input.endpoint,
      accessKeyId: input.accessKeyId,
      secretAccessKey: input.secretAccessKey,
      caPem: ca(input.caCertificate),
    };
    return { settings, bucket: input.bucket, prefix: input.prefix };
  }
  const row = getDestination(deps.db, p, input.destinationId);
  const stored = storedSettings(row);
  if (stored.kind !== "s3")
    throw new FieldError({ destinationId: "This destination is not an S3 destination." });
  const storedKey = storedSecretKey(deps.dataDir, row);
  if (input.accessKeyId === undefined) {
    if (storedKey === undefined) {
      throw new FieldError({
        secretAccessKey: "The stored secret key cannot be read with this server's key: enter it again.",
      });
    }
    const settings = {
      region: stored.region,
      endpoint: stored.endpoint ?? undefined,
      accessKeyId: stored.accessKeyId,
      secretAccessKey: storedKey,
      caPem: ca(stored.caCertificate),
    };
    return { settings, bucket: stored.bucket, prefix: stored.prefix };
  }
  const secret = input.secretAccessKey ?? (input.accessKeyId === stored.accessKeyId ? storedKey : undefined);
  if (!secret)
    throw new FieldError({ secretAccessKey: "Enter the secret access key for this access key id." });
  const settings = {
    region: input.region,
    endpoint: input.endpoint,
    accessKeyId: input.accessKeyId,
    secretAccessKey: secret,
    caPem: ca(input.caCertificate),
  };
  return { settings, bucket: input.bucket, prefix: input.prefix };
}

/** POST /api/s3/test-connection: the probe against the bucket and prefix. */
export async function testS3Connection(
  deps: DestinationDeps,
  p: Principal,
  input: S3ProbeInput,
): Promise<ProbeResult> {
  const { settings, bucket, prefix } = resolveProbeSettings(deps, p, input);
  if (!bucket) throw new FieldError({ bucket: "Enter the bucket name." });
  const clean = prefix.replace(/^\/+|\/+$/g, "");
  return probeAddress(`s3://${bucket}${clean ? `/${clean}` : ""}`, settings);
}

export type BucketsResult =
  | { ok: true; buckets: BucketInfo[] }
  | { ok: false; code: string; message: string };

/**
 * GET/POST /api/s3/buckets: the buckets the credentials can list, or the store's refusal (code
 * and message). Bad input and unknown destinations still throw (FieldError, NotFoundError).
 */
export async function listBuckets(
  deps: DestinationDeps,
  p: Principal,
  input: S3ProbeInput,
): Promise<BucketsResult> {
  const { settings } = resolveProbeSettings(deps, p, input);
  try {
    return { ok: true, buckets: await listS3Buckets(settings) };
  } catch (error) {
    if (!(error instanceof PermanentStorageError || error instanceof TransientStorageError)) throw error;
    return { ok: false, code: storeErrorCode(error), message: error.message };
  }
}
