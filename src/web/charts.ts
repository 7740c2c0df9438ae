/**
 * Server-rendered bar charts: the model (bars, axis ticks, a text summary and the table rows)
 * is computed here and drawn by views/partials/bar-chart.eta as inline SVG, so charts read
 * without JavaScript, print, and carry a text alternative (figcaption + table).
 */

export interface ChartPoint {
  /** Start of the UTC day, ms. */
  day: number;
  value: number;
}

export interface BarChart {
  id: string;
  title: string;
  summary: string;
  width: number;
  height: number;
  /** Plot area (inside the axes). */
  plot: { x: number; y: number; w: number; h: number };
  bars: { x: number; y: number; w: number; h: number; label: string }[];
  yTicks: { y: number; label: string }[];
  xTicks: { x: number; label: string }[];
  rows: { day: string; value: string }[];
  /** The table's first column heading ("Day (UTC)" or "Week from (UTC)"). */
  rowHead: string;
}

const DAY_MS = 86_400_000;
const W = 560;
const H = 180;
const PAD = { left: 64, right: 8, top: 10, bottom: 26 };

/**
 * A round step for about four ticks: 1, 2 or 5 × 10ⁿ of the value's display unit (`unitOf`
 * gives it, say 1024³ for GiB, 60,000 for minutes), so tick labels read "5 MiB", not "4.77 MiB".
 */
function niceStep(maxValue: number, unitOf: (v: number) => number): number {
  const unit = unitOf(maxValue);
  return unit * decimalStep(maxValue / unit);
}

function decimalStep(maxValue: number): number {
  const raw = maxValue / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

const dayLabel = (ms: number) => new Date(ms).toISOString().slice(5, 10);

/**
 * One bar per day from `from` for `days` days (missing days are 0); `format` writes values
 * (bytes, durations) for ticks, bar titles, the summary and the table.
 */
export function barChart(
  id: string,
  title: string,
  points: ChartPoint[],
  from: number,
  days: number,
  format: (v: number) => string,
  unitOf: (v: number) => number = () => 1,
  /** Days per bar (7 for 90 days: 13 weekly bars, not 90 slivers); points are summed per bar. */
  bucketDays = 1,
): BarChart {
  const bars = Math.ceil(days / bucketDays);
  const byBar = new Map<number, number>();
  for (const p of points) {
    const i = Math.floor((p.day - from) / (bucketDays * DAY_MS));
    byBar.set(i, (byBar.get(i) ?? 0) + p.value);
  }
  const series = Array.from({ length: bars }, (_, i) => ({
    day: from + i * bucketDays * DAY_MS,
    value: byBar.get(i) ?? 0,
  }));
  const unitName = bucketDays === 1 ? "days" : "weeks";
  const plot = { x: PAD.left, y: PAD.top, w: W - PAD.left - PAD.right, h: H - PAD.top - PAD.bottom };
  const maxValue = Math.max(...series.map((s) => s.value), 0);
  const step = maxValue > 0 ? niceStep(maxValue, unitOf) : 1;
  const top = maxValue > 0 ? Math.ceil(maxValue / step) * step : 4;
  const slot = plot.w / bars;
  const barW = Math.max(1, slot * 0.7);
  const drawn = series.map((s, i) => {
    const h = (s.value / top) * plot.h;
    return {
      x: plot.x + i * slot + (slot - barW) / 2,
      y: plot.y + plot.h - h,
      w: barW,
      h,
      label: `${dayLabel(s.day)}: ${format(s.value)}`,
    };
  });
  const yTicks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => ({
    y: plot.y + plot.h - ((i * step) / top) * plot.h,
    label: maxValue > 0 ? format(i * step) : i === 0 ? "0" : "",
  }));
  const every = Math.ceil(bars / 7);
  const xTicks = series
    .map((s, i) => ({ x: plot.x + i * slot + slot / 2, label: dayLabel(s.day), i }))
    .filter((t) => t.i % every === 0)
    .map(({ x, label }) => ({ x, label }));
  const active = series.filter((s) => s.value > 0);
  const peak = active.reduce((a, b) => (b.value > a.value ? b : a), { day: from, value: 0 });
  const summary =
    active.length === 0
      ? `Nothing in these ${days} days.`
      : `${active.length} of ${bars} ${unitName} with runs; highest ${format(peak.value)} ${bucketDays === 1 ? "on" : "in the week of"} ${dayLabel(peak.day)}.`;
  return {
    id,
    title,
    summary,
    width: W,
    height: H,
    plot,
    bars: drawn.filter((b) => b.h > 0),
    yTicks,
    xTicks,
    rowHead: bucketDays === 1 ? "Day (UTC)" : "Week from (UTC)",
    rows: active.map((s) => ({ day: new Date(s.day).toISOString().slice(0, 10), value: format(s.value) })),
  };
}

/** The binary unit a byte count is shown in (1, 1024, 1024², …), for round ticks. */
export function byteUnit(v: number): number {
  let unit = 1;
  while (v / unit >= 1024 && unit < 1024 ** 5) unit *= 1024;
  return unit;
}

/** The unit a duration is shown in: seconds, minutes or hours (ms). */
export function durationUnit(v: number): number {
  if (v >= 2 * 3_600_000) return 3_600_000;
  if (v >= 2 * 60_000) return 60_000;
  return 1000;
}
