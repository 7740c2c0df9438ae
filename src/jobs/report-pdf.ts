/**
 * The report as a PDF (pdf-lib; works inside the compiled binary): a title page with the range,
 * totals and a bar chart of data added per job, then a table per job. Text is set in DejaVu Sans,
 * embedded in the binary (scripts/gen-embedded.ts) and subset into the PDF, so names in Cyrillic,
 * Greek, Arabic and most other scripts render (the 14 standard PDF fonts cover Latin only).
 */
import fontkit from "@pdf-lib/fontkit";
import { PDFDocument, type PDFFont, type PDFPage, rgb } from "pdf-lib";
import { assets } from "../generated/embedded.ts";
import { formatBytes } from "../util/bytes.ts";
import type { Report, ReportRow } from "./reports.ts";

const A4: [number, number] = [595.28, 841.89];
const MARGIN = 56;
const INK = rgb(0.1, 0.12, 0.16);
const MUTED = rgb(0.38, 0.42, 0.48);
const ACCENT = rgb(0.13, 0.4, 0.75);
const RULE = rgb(0.82, 0.85, 0.89);

interface Fonts {
  regular: PDFFont;
  bold: PDFFont;
}

async function fontBytes(name: string): Promise<ArrayBuffer> {
  const asset = assets[name];
  if (!asset) throw new Error(`font ${name} is not embedded`);
  return Bun.file(asset.path).arrayBuffer();
}

const RTL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]/u;
const LTR_LETTER = /[A-Za-z\u00c0-\u058f\u1e00-\u1fff]/u;

/**
 * pdf-lib lays glyphs out left to right in logical order: a name written only in a right-to-left
 * script (Hebrew, Arabic) is drawn reversed so it reads correctly. Mixed-direction text is left
 * as is (no bidi algorithm), and Arabic letters are not joined (pdf-lib does no shaping).
 */
function visual(text: string): string {
  return RTL.test(text) && !LTR_LETTER.test(text) ? [...text].reverse().join("") : text;
}

/** Cuts text to fit `width` with an ellipsis, in visual order. */
function clip(font: PDFFont, logical: string, size: number, width: number): string {
  const text = visual(logical);
  if (font.widthOfTextAtSize(text, size) <= width) return text;
  let t = text;
  while (t.length > 1 && font.widthOfTextAtSize(`${t}…`, size) > width) t = t.slice(0, -1);
  return `${t}…`;
}

function duration(ms: number | null): string {
  if (ms === null) return "–";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

function drillText(r: ReportRow): string {
  const d = r.lastDrill;
  if (!d) return "never";
  const what = `${d.filesChecked} files, ${formatBytes(d.bytesChecked)}`;
  return `${d.status === "completed" ? "passed" : d.status} on ${day(d.time)} (${what})`;
}

function titlePage(doc: PDFDocument, f: Fonts, report: Report): void {
  const page = doc.addPage(A4);
  const [w, h] = A4;
  let y = h - MARGIN - 40;
  page.drawText("backapp", { x: MARGIN, y, size: 14, font: f.bold, color: ACCENT });
  y -= 40;
  page.drawText("Backup report", { x: MARGIN, y, size: 30, font: f.bold, color: INK });
  y -= 30;
  page.drawText(`${day(report.from)} – ${day(report.to)}`, {
    x: MARGIN,
    y,
    size: 16,
    font: f.regular,
    color: INK,
  });
  y -= 20;
  page.drawText(`Generated ${report.generatedAt.replace("T", " ").slice(0, 16)} UTC`, {
    x: MARGIN,
    y,
    size: 10,
    font: f.regular,
    color: MUTED,
  });
  y -= 44;
  const sum = (k: "runs" | "successes" | "failures" | "partial" | "bytesAdded") =>
    report.items.reduce((n, r) => n + r[k], 0);
  const totals: [string, string][] = [
    ["Jobs", String(report.items.length)],
    ["Runs", String(sum("runs"))],
    ["Successful", String(sum("successes"))],
    ["Partial", String(sum("partial"))],
    ["Failed", String(sum("failures"))],
    ["Data added", formatBytes(sum("bytesAdded"))],
  ];
  const colW = (w - 2 * MARGIN) / 3;
  totals.forEach(([label, value], i) => {
    const x = MARGIN + (i % 3) * colW;
    const ty = y - Math.floor(i / 3) * 54;
    page.drawText(value, { x, y: ty, size: 20, font: f.bold, color: INK });
    page.drawText(label, { x, y: ty - 16, size: 10, font: f.regular, color: MUTED });
  });
  y -= 140;
  chart(page, f, report.items, y);
}

/** Horizontal bars of data added per job (at most 12 jobs on the title page, largest first). */
function chart(page: PDFPage, f: Fonts, items: ReportRow[], top: number): void {
  const [w] = A4;
  page.drawText("Data added per job", { x: MARGIN, y: top, size: 13, font: f.bold, color: INK });
  const rows = [...items].sort((a, b) => b.bytesAdded - a.bytesAdded).slice(0, 12);
  if (rows.length === 0) {
    page.drawText("No jobs.", { x: MARGIN, y: top - 24, size: 10, font: f.regular, color: MUTED });
    return;
  }
  const max = Math.max(1, ...rows.map((r) => r.bytesAdded));
  const labelW = 150;
  const valueW = 70;
  const barMax = w - 2 * MARGIN - labelW - valueW;
  rows.forEach((r, i) => {
    const y = top - 30 - i * 22;
    page.drawText(clip(f.regular, r.name, 10, labelW - 8), {
      x: MARGIN,
      y: y + 3,
      size: 10,
      font: f.regular,
      color: INK,
    });
    const len = Math.max(1, (r.bytesAdded / max) * barMax);
    page.drawRectangle({ x: MARGIN + labelW, y, width: len, height: 14, color: ACCENT });
    page.drawText(formatBytes(r.bytesAdded), {
      x: MARGIN + labelW + len + 6,
      y: y + 3,
      size: 9,
      font: f.regular,
      color: MUTED,
    });
  });
}

function jobRows(r: ReportRow): [string, string][] {
  return [
    ["Destination", r.destination],
    ["Runs", String(r.runs)],
    ["Successful", String(r.successes)],
    ["Partial (some files unreadable)", String(r.partial)],
    ["Failed or missed", String(r.failures)],
    ["Data added (stored after dedup)", formatBytes(r.bytesAdded)],
    ["Data read from the sources", formatBytes(r.bytesProcessed)],
    ["Total duration", duration(r.durationMs)],
    ["Mean duration", duration(r.meanDurationMs)],
    ["Storage used (uploaded, all time)", formatBytes(r.storageUsedBytes)],
    ["Last restore drill", drillText(r)],
  ];
}

const ROW_H = 16;

function jobTables(doc: PDFDocument, f: Fonts, items: ReportRow[]): void {
  const [w, h] = A4;
  let page: PDFPage | null = null;
  let y = 0;
  for (const r of items) {
    const rows = jobRows(r);
    const need = 40 + rows.length * ROW_H + 24;
    if (!page || y - need < MARGIN) {
      page = doc.addPage(A4);
      y = h - MARGIN;
    }
    page.drawText(clip(f.bold, r.name, 15, w - 2 * MARGIN), {
      x: MARGIN,
      y: y - 16,
      size: 15,
      font: f.bold,
      color: INK,
    });
    y -= 30;
    for (const [i, [label, value]] of rows.entries()) {
      if (i % 2 === 0)
        page.drawRectangle({
          x: MARGIN,
          y: y - ROW_H + 4,
          width: w - 2 * MARGIN,
          height: ROW_H,
          color: rgb(0.96, 0.97, 0.98),
        });
      page.drawText(label, { x: MARGIN + 6, y: y - 9, size: 9.5, font: f.regular, color: MUTED });
      page.drawText(clip(f.regular, value, 10, w / 2 - MARGIN - 12), {
        x: w / 2,
        y: y - 9,
        size: 10,
        font: f.regular,
        color: INK,
      });
      y -= ROW_H;
    }
    page.drawLine({ start: { x: MARGIN, y: y }, end: { x: w - MARGIN, y: y }, thickness: 0.5, color: RULE });
    y -= 24;
  }
}

function footers(doc: PDFDocument, f: Fonts): void {
  const pages = doc.getPages();
  pages.forEach((page, i) => {
    const text = `Page ${i + 1} of ${pages.length}`;
    const size = 8;
    const x = A4[0] - MARGIN - f.regular.widthOfTextAtSize(text, size);
    page.drawText(text, { x, y: MARGIN / 2, size, font: f.regular, color: MUTED });
  });
}

export async function reportPdf(report: Report): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.registerFontkit(fontkit);
  doc.setTitle(`backapp report ${day(report.from)} – ${day(report.to)}`);
  doc.setProducer("backapp");
  doc.setCreationDate(new Date(report.generatedAt));
  doc.setModificationDate(new Date(report.generatedAt));
  const fonts: Fonts = {
    regular: await doc.embedFont(await fontBytes("DejaVuSans.ttf"), { subset: true }),
    bold: await doc.embedFont(await fontBytes("DejaVuSans-Bold.ttf"), { subset: true }),
  };
  titlePage(doc, fonts, report);
  jobTables(doc, fonts, report.items);
  footers(doc, fonts);
  return doc.save();
}
