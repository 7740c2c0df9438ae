import { createMemoryBackend } from "../../src/storage/memory.ts";
import { defineBackendContract } from "./backend-contract.ts";

defineBackendContract("memory", async () => ({ backend: createMemoryBackend(), cleanup: async () => {} }));
