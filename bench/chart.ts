/**
 * @module bench/chart
 * The chart of throughput against batch size: an SVG written from the results (log-log axes, nori and its
 * floor), rendered to PNG by headless Chromium through playwright-core.
 */
import { launchChromium } from '../test/helpers/chromium.js';

export interface Series {
  readonly sizes: readonly number[];
  readonly nori: readonly number[];
  readonly floor: readonly number[];
}

const W = 800;
const H = 460;
const M = { left: 90, right: 70, top: 100, bottom: 60 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const short = (v: number) => (v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(v < 10 ? 1 : 0)}`);

/** Decades covering [min, max]. */
function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

export function chartSvg(series: Series, subtitle: string): string {
  const xs = decades(Math.min(...series.sizes), Math.max(...series.sizes));
  const ys = decades(Math.min(...series.nori, ...series.floor), Math.max(...series.nori, ...series.floor));
  const lx = (v: number) => M.left + ((Math.log10(v) - Math.log10(xs[0]!)) / (Math.log10(xs.at(-1)!) - Math.log10(xs[0]!) || 1)) * (W - M.left - M.right);
  const ly = (v: number) => H - M.bottom - ((Math.log10(v) - Math.log10(ys[0]!)) / (Math.log10(ys.at(-1)!) - Math.log10(ys[0]!) || 1)) * (H - M.top - M.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="24" y="30" font-size="18" font-weight="bold" fill="#111">Throughput against batch size: CREATE WEBACCOUNT on PostgreSQL</text>`,
    `<text x="24" y="52" font-size="13" fill="#555">${esc(subtitle)}</text>`,
  ];
  for (const y of ys) {
    for (const k of y === ys.at(-1) ? [] : [2, 5]) parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ly(y * k)}" y2="${ly(y * k)}" stroke="#f0f0f0"/>`);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ly(y)}" y2="${ly(y)}" stroke="#ccc"/>`);
    parts.push(`<text x="${M.left - 10}" y="${ly(y) + 5}" font-size="14" text-anchor="end" fill="#333">${short(y)}</text>`);
  }
  for (const x of xs) {
    parts.push(`<line x1="${lx(x)}" x2="${lx(x)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${lx(x)}" y="${H - M.bottom + 22}" font-size="14" text-anchor="middle" fill="#333">${short(x)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" font-size="15" text-anchor="middle" fill="#111">commands in one batch (log scale)</text>`);
  parts.push(`<text transform="translate(24 ${(M.top + H - M.bottom) / 2}) rotate(-90)" font-size="15" text-anchor="middle" fill="#111">commands per second (log scale)</text>`);
  const lines: [string, readonly number[], string, string][] = [
    ['floor: saxes + multi-row INSERT', series.floor, '#888888', '7 5'],
    ['nori over HTTP', series.nori, '#1f5fbf', ''],
  ];
  lines.forEach(([name, values, color, dash], i) => {
    const points = values.map((v, k) => `${lx(series.sizes[k]!)},${ly(v)}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${color}" stroke-width="3" ${dash ? `stroke-dasharray="${dash}"` : ''}/>`);
    values.forEach((v, k) => {
      const x = lx(series.sizes[k]!);
      const y = ly(v);
      parts.push(`<circle cx="${x}" cy="${y}" r="5" fill="${color}"/>`);
      parts.push(`<text x="${x + 8}" y="${y + (i === 0 ? -10 : 20)}" font-size="13" fill="${color}">${short(v)}/s</text>`);
    });
    const lx0 = M.left + i * 300;
    parts.push(`<line x1="${lx0}" x2="${lx0 + 36}" y1="78" y2="78" stroke="${color}" stroke-width="3" ${dash ? `stroke-dasharray="${dash}"` : ''}/>`);
    parts.push(`<text x="${lx0 + 44}" y="83" font-size="14" fill="#111">${esc(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Renders an SVG to a PNG file with headless Chromium (the suite's, test/helpers/chromium.ts). */
export async function renderPng(svg: string, file: string): Promise<void> {
  const { browser } = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: W, height: H }, deviceScaleFactor: 2 });
    await page.setContent(`<!doctype html><html><body style="margin:0">${svg}</body></html>`);
    await page.locator('svg').screenshot({ path: file });
  } finally {
    await browser.close();
  }
}
