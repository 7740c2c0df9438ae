import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { defineConfig, type Plugin } from "vitest/config";

/**
 * Bun understands `import x from "./a.eta" with { type: "text" | "file" }`; Vite does not. This
 * plugin gives the embedded-files module (src/generated/embedded.ts) the same meaning under vitest:
 * text imports become the file's contents, file imports its absolute path.
 */
function bunImportAttributes(): Plugin {
  const TEXT = "\0bun-text:";
  const FILE = "\0bun-file:";
  return {
    name: "bun-import-attributes",
    enforce: "pre",
    resolveId(source, importer) {
      if (!importer?.endsWith("src/generated/embedded.ts")) return null;
      const file = resolve(dirname(importer), source);
      // The suffix keeps Vite's CSS and JS plugins from claiming the virtual module by its extension.
      return /\.(eta|sql)$/.test(file) ? `${TEXT}${file}.virtual` : `${FILE}${file}.virtual`;
    },
    load(id) {
      const strip = (prefix: string) => id.slice(prefix.length, -".virtual".length);
      if (id.startsWith(TEXT)) return `export default ${JSON.stringify(readFileSync(strip(TEXT), "utf8"))};`;
      if (id.startsWith(FILE)) return `export default ${JSON.stringify(strip(FILE))};`;
      return null;
    },
  };
}

export default defineConfig({
  plugins: [bunImportAttributes()],
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/e2e/**", "node_modules/**"],
    pool: "threads",
    // Pins the scrypt cost of new keys (calibrated to ~0.5 s otherwise): see the file.
    setupFiles: ["test/setup/scrypt.ts"],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    coverage: {
      provider: "v8",
      include: ["src/**/*.ts"],
      exclude: ["src/**/*.d.ts", "src/generated/**", "src/main.ts"],
      reporter: ["text-summary", "json-summary"],
      thresholds: { lines: 85 },
    },
  },
});
