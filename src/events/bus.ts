/**
 * A typed in-process publish/subscribe bus. Each subscriber owns a bounded queue: when it is full
 * the oldest progress event goes (a newer one says more); other events are never dropped, so a
 * live view always learns that a run ended. A subscriber waits with next(); there is one pending
 * waiter per subscription and it is cleared as soon as it resolves, so no listener outlives a wait.
 */
import { type BusEvent, isDroppable } from "./types.ts";

export interface Subscription {
  /**
   * The next event, or null once the subscription (or the bus) is closed or `signal` aborts.
   * One call at a time per subscription.
   */
  next(signal?: AbortSignal): Promise<BusEvent | null>;
  /** Stops delivery and wakes a pending next() with null. Idempotent. */
  close(): void;
  /** Progress events dropped because this subscriber fell behind. */
  readonly dropped: number;
  readonly closed: boolean;
}

export interface SubscribeOptions {
  /** Only events for which this returns true are queued. */
  filter?: (event: BusEvent) => boolean;
  /** Queue bound (default 256). */
  maxQueue?: number;
}

export interface EventBus {
  /** Delivers to every open subscription whose filter accepts the event. Never throws. */
  publish(event: BusEvent): void;
  subscribe(options?: SubscribeOptions): Subscription;
  /** Open subscriptions (for shutdown checks and leak tests). */
  subscriberCount(): number;
  /** Closes every subscription (server shutdown: event streams end). */
  close(): void;
}

class Queue implements Subscription {
  private items: BusEvent[] = [];
  private waiter: ((e: BusEvent | null) => void) | null = null;
  dropped = 0;
  closed = false;

  constructor(
    private readonly max: number,
    readonly accepts: (event: BusEvent) => boolean,
    private readonly onClose: (q: Queue) => void,
  ) {}

  push(event: BusEvent): void {
    if (this.closed) return;
    if (this.waiter) {
      const wake = this.waiter;
      this.waiter = null;
      wake(event);
      return;
    }
    if (this.items.length >= this.max) this.makeRoom();
    this.items.push(event);
  }

  /** Drops the oldest droppable event; with none, the queue grows (terminal events are few). */
  private makeRoom(): void {
    const i = this.items.findIndex(isDroppable);
    if (i >= 0) {
      this.items.splice(i, 1);
      this.dropped++;
    }
  }

  next(signal?: AbortSignal): Promise<BusEvent | null> {
    const queued = this.items.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed || signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.waiter = null;
        resolve(null);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiter = (e) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(e);
      };
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.items = [];
    this.onClose(this);
    const wake = this.waiter;
    this.waiter = null;
    wake?.(null);
  }
}

export function createEventBus(): EventBus {
  const subscribers = new Set<Queue>();
  return {
    publish(event) {
      for (const q of subscribers) {
        try {
          if (q.accepts(event)) q.push(event);
        } catch {
          // A broken filter must not stop delivery to the others.
        }
      }
    },
    subscribe(options = {}) {
      const q = new Queue(options.maxQueue ?? 256, options.filter ?? (() => true), (x) =>
        subscribers.delete(x),
      );
      subscribers.add(q);
      return q;
    },
    subscriberCount: () => subscribers.size,
    close() {
      for (const q of [...subscribers]) q.close();
    },
  };
}
