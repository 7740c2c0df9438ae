import type { CliIo } from "../io.ts";

/**
 * Streams a JSON array one element per line ("[\n{...},\n{...}\n]"), so a listing of millions
 * of entries never sits in memory whole and the output still parses with one JSON.parse.
 */
export function jsonArrayWriter(io: CliIo) {
  let count = 0;
  return {
    push(value: unknown): void {
      io.stdout(`${count === 0 ? "[\n" : ",\n"}${JSON.stringify(value)}`);
      count++;
    },
    end(): void {
      io.stdout(count === 0 ? "[]\n" : "\n]\n");
    },
  };
}
