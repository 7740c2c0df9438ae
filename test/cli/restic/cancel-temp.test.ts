import { describe, it } from "vitest";
import { bunPath, mainPath } from "../../helpers/cli.ts";
import { expectCancelledBackupCleansUp, workspace } from "./fixtures.ts";

describe("a cancelled backup", () => {
  it("removes the partial pack it was writing (no .tmp-* left in the repository)", async () => {
    await expectCancelledBackupCleansUp(await workspace(), [bunPath, mainPath]);
  }, 180_000);
});
