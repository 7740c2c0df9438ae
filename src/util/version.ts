import pkg from "../../package.json" with { type: "json" };

declare const BACKAPP_BUILD_COMMIT: string | undefined;

/** The git commit baked in by build.ts (`--define`), or "dev" when running from source. */
export const buildCommit: string = typeof BACKAPP_BUILD_COMMIT === "string" ? BACKAPP_BUILD_COMMIT : "dev";

/** "0.1.0" from package.json. */
export const packageVersion: string = pkg.version;

/** "0.1.0+3f2a1bc" in a build, "0.1.0+dev" from source. */
export const version = `${packageVersion}+${buildCommit}`;
