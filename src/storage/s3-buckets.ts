/** Lists the buckets S3 credentials can see (for choosing one in the destination form). */
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { storeErrorCode } from "./error-code.ts";
import type { S3Settings } from "./open.ts";
import { clientConfig } from "./s3-config.ts";
import { mapS3Error } from "./s3-errors.ts";

export interface BucketInfo {
  name: string;
  /** When the bucket was created (ms), when the store says. */
  createdAt: number | null;
}

/**
 * Every bucket the credentials may list, by name. Throws PermanentStorageError (denied, bad
 * credentials) or TransientStorageError (unreachable) with the store's code in the message.
 */
export async function listS3Buckets(settings: S3Settings, signal?: AbortSignal): Promise<BucketInfo[]> {
  const client = new S3Client(clientConfig({ ...settings, bucket: "", prefix: "" }));
  try {
    const out: BucketInfo[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await client.send(new ListBucketsCommand({ ContinuationToken }), { abortSignal: signal });
      for (const b of page.Buckets ?? []) {
        if (b.Name) out.push({ name: b.Name, createdAt: b.CreationDate?.getTime() ?? null });
      }
      ContinuationToken = page.ContinuationToken;
    } while (ContinuationToken);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    // The kind (denied, unreachable) from the usual mapping; the message names the store's code.
    const mapped = mapS3Error("list buckets", "", err, signal);
    const detail = err instanceof Error && err.message ? `: ${err.message}` : "";
    mapped.message = `list buckets: ${storeErrorCode(err)}${detail}`;
    throw mapped;
  } finally {
    client.destroy();
  }
}
