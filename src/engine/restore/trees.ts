/**
 * Tree loading for a restore. Every directory is one small read (one GET on S3), and the walk that
 * restores goes depth first, one directory after another: on a remote store that walk, not the
 * data, set the pace. So the pass that counts totals for progress loads trees many at a time and
 * leaves them here for the walk to take (each tree once, then forgotten). The cache is bounded by
 * the nodes it holds; past that the walk simply loads what it needs itself.
 */
import { Limiter } from "../backup/limiter.ts";
import type { BlobId, Repository, Tree } from "../types.ts";

export class TreeFeed {
  private readonly cache = new Map<BlobId, Promise<Tree>>();
  private readonly limiter: Limiter;
  private cachedNodes = 0;
  /** Cached trees whose nodes are counted in cachedNodes. */
  private readonly counted = new WeakSet<Promise<Tree>>();

  /** `signal` stops the counting pass's loads (fired only once the walk no longer needs them). */
  constructor(
    private readonly repo: Repository,
    private readonly signal: AbortSignal,
    private readonly maxNodes = 100_000,
    concurrency = 16,
  ) {
    this.limiter = new Limiter(concurrency);
  }

  /** For the walk: the tree, from the cache (in flight or loaded) or loaded now under `signal`. */
  take(id: BlobId, signal: AbortSignal): Promise<Tree> {
    const p = this.cache.get(id);
    if (!p) return this.repo.loadTree(id, signal);
    this.cache.delete(id);
    void p.then(
      (t) => {
        if (this.counted.delete(p)) this.cachedNodes -= t.nodes.length;
      },
      () => {},
    );
    return p;
  }

  /** For the counting pass: loads a tree (bounded concurrency) and keeps it for the walk. */
  async peek(id: BlobId): Promise<Tree> {
    const known = this.cache.get(id);
    if (known) return known;
    const release = await this.limiter.acquire();
    try {
      const p = this.repo.loadTree(id, this.signal);
      if (this.cachedNodes < this.maxNodes) {
        this.cache.set(id, p);
        p.catch(() => {
          if (this.cache.get(id) === p) this.cache.delete(id);
        });
        void p.then(
          (t) => {
            if (this.cache.get(id) !== p) return;
            this.cachedNodes += t.nodes.length;
            this.counted.add(p);
          },
          () => {},
        );
      }
      return await p;
    } finally {
      release();
    }
  }
}
