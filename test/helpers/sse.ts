/**
 * A small Server-Sent Events client for tests: fetch plus a parser of the wire format (event,
 * data, id fields; comments kept apart so heartbeats can be seen). `next()` reads one message.
 */
export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

export interface SseClient {
  status: number;
  headers: Headers;
  /** The next message, or null when the stream ended. */
  next(): Promise<SseMessage | null>;
  /** Every message until the stream ends. */
  rest(): Promise<SseMessage[]>;
  /** Comment lines seen so far (": heartbeat"). */
  comments: string[];
  /** Reads until `n` comment lines were seen (messages read meanwhile wait for next()); false if the stream ended. */
  untilComments(n: number): Promise<boolean>;
  /** Drops the connection (the client goes away). */
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  const comments: string[] = [];
  let buffer = "";
  let ended = !reader || !(res.headers.get("content-type") ?? "").includes("text/event-stream");

  /** One complete message block from the buffer, or null when more bytes are needed. */
  const take = (): SseMessage | null => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end < 0) return null;
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const msg: SseMessage = { event: "message", data: "", id: null };
      const data: string[] = [];
      let fields = 0;
      for (const line of block.split("\n")) {
        if (line === "") continue;
        if (line.startsWith(":")) {
          comments.push(line);
          continue;
        }
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        fields++;
        if (field === "event") msg.event = value;
        else if (field === "data") data.push(value);
        else if (field === "id") msg.id = value;
      }
      if (fields === 0) continue;
      msg.data = data.join("\n");
      return msg;
    }
  };

  const queued: SseMessage[] = [];
  /** Reads one more chunk into the buffer; false once the stream ended. */
  const pull = async (): Promise<boolean> => {
    if (ended || !reader) return false;
    try {
      const chunk = await reader.read();
      if (chunk.done) {
        ended = true;
        buffer += "\n\n";
      } else buffer += decoder.decode(chunk.value, { stream: true });
      return true;
    } catch {
      ended = true;
      return false;
    }
  };

  const client: SseClient = {
    status: res.status,
    headers: res.headers,
    comments,
    async next() {
      for (;;) {
        const msg = queued.shift() ?? take();
        if (msg) return msg;
        if (!(await pull())) return take();
      }
    },
    async untilComments(n) {
      for (;;) {
        for (let m = take(); m; m = take()) queued.push(m);
        if (comments.length >= n) return true;
        if (!(await pull())) return false;
      }
    },
    async rest() {
      const all: SseMessage[] = [];
      for (let m = await client.next(); m; m = await client.next()) all.push(m);
      return all;
    },
    close() {
      ended = true;
      abort.abort();
    },
  };
  return client;
}
