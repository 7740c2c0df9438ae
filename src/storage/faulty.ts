import { NotFoundError, PermanentStorageError, TransientStorageError } from "../util/errors.ts";
import type { Backend, GetOptions, ObjectInfo, PutOptions } from "./backend.ts";
import { abortableSleep } from "./retry.ts";

export type FaultMethod = "put" | "get" | "getStream" | "stat" | "list" | "delete";

/**
 * What happens to a matching call:
 * - transient / permanent / not-found: the call throws that kind without reaching the backend.
 * - error: the call throws what `make()` returns.
 * - lost-ack: the call reaches the backend and succeeds, then throws a transient error, as when
 *   a response is lost (tests that writers are idempotent).
 * - corrupt: get/getStream return the data with one byte flipped (at `at`, default the middle).
 * - break-stream: getStream fails with a transient error after `afterBytes` bytes.
 * - delay: waits `ms` (abortable), then performs the call.
 * - torn-write: put stores only the first `keep` bytes (default half) of byte data, then throws a
 *   transient error: what a backend without atomic writes leaves when a connection drops.
 * - break-list: list yields `afterItems` names, then fails with a transient error (a page lost).
 * - short-read: get/getStream deliver only the first `keep` bytes (default half) of what was
 *   asked, without an error (a truncated response).
 */
export type Fault =
  | { kind: "transient" | "permanent" | "not-found" }
  | { kind: "error"; make: () => Error }
  | { kind: "lost-ack" }
  | { kind: "corrupt"; at?: number }
  | { kind: "break-stream"; afterBytes: number }
  | { kind: "delay"; ms: number }
  | { kind: "torn-write"; keep?: number }
  | { kind: "short-read"; keep?: number }
  | { kind: "break-list"; afterItems: number };

export interface FaultRule {
  /** Which methods the rule watches ("*" for all). */
  method: FaultMethod | FaultMethod[] | "*";
  /** Only calls whose name (prefix for list) matches; all calls when absent. */
  match?: string | RegExp | ((name: string) => boolean);
  /** Matching calls to let through before the first fault (default 0: fail the 1st). */
  after?: number;
  /** How many matching calls to fault, from then on (default 1; Infinity for all). */
  times?: number;
  /** Fault each eligible call only with this probability, drawn from the plan's `random`. */
  probability?: number;
  fault: Fault;
}

export interface FaultPlan {
  rules: FaultRule[];
  /** Uniform in [0, 1), for `probability` (default Math.random). */
  random?: () => number;
}

interface RuleState {
  rule: FaultRule;
  seen: number;
  fired: number;
}

/**
 * A fault-injecting decorator (after kopia's blobtesting/faulty.go) for tests and the chaos suite.
 * Rules are checked in order; the first that fires on a call decides its fault. `calls` counts
 * every call per method, `injected` every fault injected.
 */
export class FaultyBackend implements Backend {
  readonly location: string;
  readonly calls: Record<FaultMethod, number> = { put: 0, get: 0, getStream: 0, stat: 0, list: 0, delete: 0 };
  injected = 0;
  private readonly states: RuleState[];
  private readonly random: () => number;

  constructor(
    private readonly inner: Backend,
    plan: FaultPlan,
  ) {
    this.location = inner.location;
    this.states = plan.rules.map((rule) => ({ rule, seen: 0, fired: 0 }));
    this.random = plan.random ?? Math.random;
  }

  /** Adds a rule at run time (e.g. after a repository was set up cleanly). */
  addRule(rule: FaultRule): void {
    this.states.push({ rule, seen: 0, fired: 0 });
  }

  /** Every matching rule counts the call; the first one due (and lucky, if probabilistic) fires. */
  private pick(method: FaultMethod, name: string): Fault | undefined {
    this.calls[method] += 1;
    let chosen: RuleState | undefined;
    for (const state of this.states) {
      if (!appliesTo(state.rule, method, name)) continue;
      state.seen += 1;
      if (chosen || state.seen <= (state.rule.after ?? 0) || state.fired >= (state.rule.times ?? 1)) continue;
      if (state.rule.probability !== undefined && this.random() >= state.rule.probability) continue;
      chosen = state;
    }
    if (!chosen) return undefined;
    chosen.fired += 1;
    this.injected += 1;
    return chosen.rule.fault;
  }

  /** Runs `call` under `fault`; kinds that change returned data are handled by the callers. */
  private async apply<T>(
    fault: Fault | undefined,
    what: string,
    signal: AbortSignal | undefined,
    call: () => Promise<T>,
  ) {
    if (!fault) return call();
    switch (fault.kind) {
      case "transient":
        throw new TransientStorageError(`${what}: injected transient fault`);
      case "permanent":
        throw new PermanentStorageError(`${what}: injected permanent fault`);
      case "not-found":
        throw new NotFoundError(`${what}: injected not found`);
      case "error":
        throw fault.make();
      case "lost-ack":
        await call();
        throw new TransientStorageError(`${what}: injected lost response`);
      case "delay":
        await abortableSleep(fault.ms, signal);
        return call();
      default:
        return call();
    }
  }

  async put(
    name: string,
    data: Uint8Array | ReadableStream<Uint8Array>,
    options?: PutOptions,
  ): Promise<void> {
    const fault = this.pick("put", name);
    if (fault?.kind === "torn-write" && data instanceof Uint8Array) {
      await this.inner.put(name, data.slice(0, fault.keep ?? Math.floor(data.byteLength / 2)), options);
      throw new TransientStorageError(`put ${name}: injected torn write`);
    }
    return this.apply(fault, `put ${name}`, options?.signal, () => this.inner.put(name, data, options));
  }

  async get(name: string, options?: GetOptions): Promise<Uint8Array> {
    const fault = this.pick("get", name);
    const data = await this.apply(fault, `get ${name}`, options?.signal, () => this.inner.get(name, options));
    if (fault?.kind === "short-read") return data.slice(0, fault.keep ?? Math.floor(data.byteLength / 2));
    return fault?.kind === "corrupt" ? corrupt(data, fault.at) : data;
  }

  async getStream(name: string, options?: GetOptions): Promise<ReadableStream<Uint8Array>> {
    const fault = this.pick("getStream", name);
    const stream = await this.apply(fault, `getStream ${name}`, options?.signal, () =>
      this.inner.getStream(name, options),
    );
    if (fault?.kind === "corrupt") return transformStream(stream, { corruptAt: fault.at ?? 0 });
    if (fault?.kind === "break-stream")
      return transformStream(stream, { breakAfter: fault.afterBytes, name });
    if (fault?.kind === "short-read") {
      const keep = fault.keep ?? Math.floor((options?.length ?? 0) / 2);
      return transformStream(stream, { endAfter: keep });
    }
    return stream;
  }

  stat(name: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo> {
    return this.apply(this.pick("stat", name), `stat ${name}`, options?.signal, () =>
      this.inner.stat(name, options),
    );
  }

  async *list(prefix: string, options?: { signal?: AbortSignal }): AsyncIterable<ObjectInfo> {
    const fault = this.pick("list", prefix);
    const iterable = await this.apply(fault, `list ${prefix}`, options?.signal, async () =>
      this.inner.list(prefix, options),
    );
    if (fault?.kind !== "break-list") return yield* iterable;
    let n = 0;
    for await (const info of iterable) {
      if (n++ >= fault.afterItems) break;
      yield info;
    }
    throw new TransientStorageError(`list ${prefix}: injected broken listing`);
  }

  delete(name: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.apply(this.pick("delete", name), `delete ${name}`, options?.signal, () =>
      this.inner.delete(name, options),
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function withFaults(backend: Backend, plan: FaultPlan | FaultRule[]): FaultyBackend {
  return new FaultyBackend(backend, Array.isArray(plan) ? { rules: plan } : plan);
}

function appliesTo(rule: FaultRule, method: FaultMethod, name: string): boolean {
  const methods = rule.method;
  if (methods !== "*" && (Array.isArray(methods) ? !methods.includes(method) : methods !== method))
    return false;
  const m = rule.match;
  if (m === undefined) return true;
  if (typeof m === "string") return name === m || name.startsWith(m);
  if (m instanceof RegExp) return m.test(name);
  return m(name);
}

function corrupt(data: Uint8Array, at?: number): Uint8Array {
  if (data.byteLength === 0) return data;
  const copy = data.slice();
  const i = Math.min(at ?? Math.floor(copy.byteLength / 2), copy.byteLength - 1);
  copy[i] = (copy[i] ?? 0) ^ 0xff;
  return copy;
}

/**
 * Flips the byte at stream position `corruptAt`, fails after `breakAfter` bytes, or ends the
 * stream quietly after `endAfter` bytes.
 */
function transformStream(
  source: ReadableStream<Uint8Array>,
  opts: { corruptAt?: number; breakAfter?: number; endAfter?: number; name?: string },
): ReadableStream<Uint8Array> {
  let position = 0;
  let broken = false;
  const fail = (controller: TransformStreamDefaultController<Uint8Array>) =>
    controller.error(new TransientStorageError(`read ${opts.name}: injected broken stream`));
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (broken) return fail(controller);
        if (opts.endAfter !== undefined) {
          const keep = Math.max(0, Math.min(chunk.byteLength, opts.endAfter - position));
          if (keep > 0) controller.enqueue(chunk.slice(0, keep));
          position += keep;
          if (position >= opts.endAfter) controller.terminate();
          return;
        }
        const end = position + chunk.byteLength;
        if (opts.breakAfter !== undefined && end > opts.breakAfter) {
          // Deliver the bytes before the break, fail on the next read: what a dropped socket looks like.
          broken = true;
          const keep = opts.breakAfter - position;
          position = opts.breakAfter;
          if (keep > 0) controller.enqueue(chunk.slice(0, keep));
          else fail(controller);
          return;
        }
        let out = chunk;
        if (opts.corruptAt !== undefined && opts.corruptAt >= position && opts.corruptAt < end) {
          out = chunk.slice();
          const i = opts.corruptAt - position;
          out[i] = (out[i] ?? 0) ^ 0xff;
        }
        position = end;
        controller.enqueue(out);
      },
      flush(controller) {
        if (broken) fail(controller);
      },
    }),
  );
}
