/**
 * `npm run chaos`: the long fault loops of test/chaos/*.chaos.ts (not part of `npm test`, whose
 * include pattern is *.test.ts). Rounds and seed from CHAOS_ROUNDS / CHAOS_SEED.
 */
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.ts";

export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ["test/chaos/**/*.chaos.ts"],
      testTimeout: 3_600_000,
      hookTimeout: 120_000,
      fileParallelism: false,
    },
  }),
);
