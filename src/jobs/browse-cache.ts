/**
 * Open repositories for browsing, one per destination, kept for a short while after their last
 * use (opening costs key derivation and an index load, too slow for every directory click) and
 * closed when idle. Each comes with its own TreeCache (never shared between repositories: tree
 * ids are only verified inside their own). Reads take no lock ("none"): browsing never blocks a
 * backup or a prune, and a prune racing a listing at worst yields a NotFound for a pack just gone.
 */
import type { TreeCache } from "../engine/browse/index.ts";
import type { MasterKeys } from "../engine/crypto/keys.ts";
import type { RepositoryImpl } from "../engine/repository/index.ts";
import type { RepositoryTargetSpec } from "./repository-access.ts";

export interface OpenedRepository {
  repo: RepositoryImpl;
  trees: TreeCache;
}

interface Entry {
  opened: Promise<OpenedRepository>;
  /** Requests and streams using it now; it is closed only when idle. */
  users: number;
  timer: ReturnType<typeof setTimeout> | null;
}

/** How long an unused repository stays open. */
export const IDLE_CLOSE_MS = 60_000;

export class BrowseCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly idleMs: number = IDLE_CLOSE_MS) {}

  /** Runs `use` with the destination's opened repository, kept open while `use` runs. */
  async with<T>(
    destinationId: string,
    spec: () => RepositoryTargetSpec,
    use: (opened: OpenedRepository) => Promise<T>,
  ): Promise<T> {
    const entry = this.acquire(destinationId, spec);
    try {
      const opened = await entry.opened;
      return await use(opened);
    } finally {
      this.release(destinationId, entry);
    }
  }

  /**
   * The master keys of the destination's repository if it is open here already (a download child
   * then skips the key derivation); null otherwise: this never opens a repository.
   */
  async openKeys(destinationId: string): Promise<MasterKeys | null> {
    const entry = this.entries.get(destinationId);
    if (!entry) return null;
    try {
      return (await entry.opened).repo.masterKeys;
    } catch {
      return null;
    }
  }

  /** Closes every repository (server shutdown, tests). */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) {
      if (e.timer) clearTimeout(e.timer);
      await e.opened.then((o) => o.repo.close()).catch(() => {});
    }
  }

  /** Forgets a destination's repository (its settings changed or it was deleted). */
  evict(destinationId: string): void {
    const e = this.entries.get(destinationId);
    if (!e) return;
    this.entries.delete(destinationId);
    if (e.timer) clearTimeout(e.timer);
    void e.opened.then((o) => o.repo.close()).catch(() => {});
  }

  private acquire(destinationId: string, spec: () => RepositoryTargetSpec): Entry {
    let entry = this.entries.get(destinationId);
    if (!entry) {
      const opened = openForBrowsing(spec());
      entry = { opened, users: 0, timer: null };
      const self = entry;
      // A failed open is not cached: the next request tries again (say after a network blip).
      opened.catch(() => {
        if (this.entries.get(destinationId) === self) this.entries.delete(destinationId);
      });
      this.entries.set(destinationId, entry);
    }
    entry.users++;
    if (entry.timer) {
      clearTimeout(entry.timer);
      entry.timer = null;
    }
    return entry;
  }

  private release(destinationId: string, entry: Entry): void {
    entry.users--;
    if (entry.users > 0 || this.entries.get(destinationId) !== entry) return;
    entry.timer = setTimeout(() => this.evict(destinationId), this.idleMs);
    entry.timer.unref?.();
  }
}

async function openForBrowsing(spec: RepositoryTargetSpec): Promise<OpenedRepository> {
  // Loaded on first use: the server does not load the engine at start-up.
  const { openSpecRepository } = await import("./repository-access.ts");
  const { TreeCache } = await import("../engine/browse/index.ts");
  const repo = await openSpecRepository(spec, { lock: "none" });
  return { repo, trees: new TreeCache(repo) };
}
