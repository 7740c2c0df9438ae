/** A counting semaphore: at most `n` holders at once, FIFO. */
export class Limiter {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly n: number) {}

  /** Resolves once a slot is free; call the returned function exactly once to free it. */
  async acquire(): Promise<() => void> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiters.push(r));
    else this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    };
  }
}

/**
 * A budget of units (bytes): holders take `n` each and wait, in order, while the units held would
 * exceed `max`. One larger than the whole budget passes alone, once nothing else is held.
 */
export class Budget {
  private used = 0;
  private readonly waiters: { n: number; go: () => void }[] = [];

  constructor(private readonly max: number) {}

  /** Resolves once `n` units are taken; call the returned function exactly once to give them back. */
  async acquire(n: number): Promise<() => void> {
    if (this.waiters.length === 0 && this.fits(n)) this.used += n;
    else await new Promise<void>((go) => this.waiters.push({ n, go }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= n;
      this.admit();
    };
  }

  /** Units held now. */
  get held(): number {
    return this.used;
  }

  private fits(n: number): boolean {
    return this.used === 0 || this.used + n <= this.max;
  }

  /** Hands the freed units to waiters in order (taken here, so two cannot both fit the same room). */
  private admit(): void {
    for (let w = this.waiters[0]; w && this.fits(w.n); w = this.waiters[0]) {
      this.waiters.shift();
      this.used += w.n;
      w.go();
    }
  }
}
