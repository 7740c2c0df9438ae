/**
 * A real HTTP receiver (Bun.serve on a random loopback port) that records every request with its
 * raw body and answers from a script of statuses (the last one repeats): [500, 200] fails once.
 */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface ReceiverOptions {
  statuses?: number[];
  /** Extra headers per answer (say a Location for a redirect). */
  headers?: Record<string, string>;
  /** Answer body (default "ok"). */
  body?: string;
}

export function startReceiver(options: ReceiverOptions = {}) {
  const requests: ReceivedRequest[] = [];
  const statuses = [...(options.statuses ?? [200])];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      requests.push({
        method: req.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries(req.headers),
        body: await req.text(),
      });
      const status = statuses.length > 1 ? (statuses.shift() as number) : (statuses[0] ?? 200);
      return new Response(status === 204 ? null : (options.body ?? "ok"), {
        status,
        headers: options.headers ?? {},
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    requests,
    stop: () => server.stop(true),
  };
}

/**
 * startReceiver for one test file: whatever it (or `track`) started is stopped after each test.
 * Takes vitest's afterEach so this file also serves scripts outside vitest.
 */
export function receiversPerTest(afterEach: (fn: () => void) => void) {
  const open: (() => unknown)[] = [];
  afterEach(() => {
    for (const stop of open.splice(0)) stop();
  });
  const receiver = (options: ReceiverOptions = {}) => {
    const r = startReceiver(options);
    open.push(r.stop);
    return r;
  };
  return { receiver, track: (stop: () => unknown) => open.push(stop) };
}
