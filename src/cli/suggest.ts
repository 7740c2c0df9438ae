/** "did you mean …?" for a mistyped command or flag. */

/** Edit distance (insert, delete, substitute, swap of neighbours), small strings only. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word`, when close enough to be a typo (or `word` is its prefix). */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = c.startsWith(w) && w.length >= 3 ? 0.5 : distance(w, c);
    if (!best || d < best.d) best = { c, d };
  }
  const limit = Math.max(1, Math.floor(w.length / 3));
  return best && best.d <= limit ? best.c : undefined;
}

/** " (did you mean backup?)" or "". */
export function didYouMean(word: string, candidates: readonly string[], prefix = ""): string {
  const hit = nearest(word, candidates);
  return hit ? ` (did you mean ${prefix}${hit}?)` : "";
}

/** The "Usage:" lines of a command's usage text (up to the first blank line), for usage errors. */
export function shortUsage(usage: string, command: string): string {
  const head = usage.split("\n\n")[0] ?? usage;
  return `${head}\nRun "backapp ${command} --help" for every flag.\n`;
}
