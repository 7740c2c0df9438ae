/**
 * Dates typed by users (query parameters, forms) are ISO 8601 only. Date.parse alone is not a
 * validator: Bun's engine reads almost anything as some date ("a;sleep 60;" is a day in 1960), so a
 * typo or a probe would silently select the wrong period instead of getting a clear 400.
 */
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Milliseconds since the epoch for "YYYY-MM-DD" (UTC midnight) or an ISO time; null for anything else. */
export function parseIsoTime(value: string): number | null {
  if (!ISO.test(value)) return null;
  const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  return Number.isNaN(ms) ? null : ms;
}
