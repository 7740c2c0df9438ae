import { createS3Backend } from "../../src/storage/s3.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { defineBackendContract } from "./backend-contract.ts";

const MiB = 1024 * 1024;
const partSize = 5 * MiB;
const queueSize = 1;

defineBackendContract(
  "s3 (s3rver)",
  async () => {
    const s3 = await startS3rver();
    const backend = createS3Backend({ ...s3, prefix: "repo/one", partSize, queueSize });
    return { backend, cleanup: () => s3.stop() };
  },
  // Parts in flight plus the one being assembled, plus one source chunk.
  { maxReadAheadBytes: partSize * (queueSize + 1) + MiB },
);
