import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";

/**
 * DeleteObjects must carry an integrity header. With checksums set to WHEN_REQUIRED the SDK
 * sends a CRC32 header, which some S3-compatible servers do not understand; they want the
 * classic Content-MD5. Adding it (before signing) satisfies both kinds of server.
 */
export function addContentMd5(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown } | undefined;
      if (context.commandName === "DeleteObjectsCommand" && request?.headers) {
        const body = request.body;
        if (typeof body === "string" || body instanceof Uint8Array) {
          request.headers["content-md5"] = createHash("md5").update(body).digest("base64");
        }
      }
      return next(args);
    },
    { step: "build", name: "backappContentMd5", override: true },
  );
}
