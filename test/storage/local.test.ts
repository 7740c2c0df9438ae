import { createLocalBackend } from "../../src/storage/local.ts";
import { tempDir } from "../helpers/temp.ts";
import { defineBackendContract } from "./backend-contract.ts";

defineBackendContract(
  "local",
  async () => {
    const dir = tempDir("backapp-local-");
    return { backend: createLocalBackend(dir.path), cleanup: async () => dir.cleanup() };
  },
  { maxReadAheadBytes: 1024 * 1024 },
);
