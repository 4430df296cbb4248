// Small SVG charts (no library): per-day bars, per-day lines with several series, a horizontal split.

const NS = "http://www.w3.org/2000/svg";
const W = 360;
const H = 160;
const PAD = { l: 34, r: 8, t: 10, b: 22 };
export const COLORS = ["#fe2c55", "#25f4ee", "#ffc233", "#8c7bff", "#4cd964", "#ff8a3d", "#9aa0a6"];

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function frame(title: string, kind: string): { box: HTMLElement; root: SVGElement } {
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: `chart ${kind}`, role: "img", "aria-label": title });
  const box = document.createElement("figure");
  box.className = "chart-box";
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  box.append(cap, root);
  return { box, root };
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axes(root: SVGElement, labels: string[], max: number, unit: (v: number) => string): void {
  const ih = H - PAD.t - PAD.b;
  for (let i = 0; i <= 2; i++) {
    const y = PAD.t + ih - (ih * i) / 2;
    root.append(svg("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid" }));
    root.append(svg("text", { x: PAD.l - 4, y: y + 3, "text-anchor": "end", class: "tick" }, unit((max * i) / 2)));
  }
  const step = Math.max(1, Math.ceil(labels.length / 6));
  const iw = (W - PAD.l - PAD.r) / Math.max(1, labels.length);
  const last = labels.length - 1;
  labels.forEach((l, i) => {
    const lastAlone = i === last && last % step >= step / 2;  // the last day, unless a tick sits next to it
    if (i % step !== 0 && !lastAlone) return;
    root.append(svg("text", { x: PAD.l + iw * (i + 0.5), y: H - 6, "text-anchor": "middle", class: "tick" }, l.slice(5)));
  });
}

const plain = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v * 10) / 10));

/** One bar per day. */
export function bars(title: string, labels: string[], values: number[], unit = plain, color = COLORS[0]): HTMLElement {
  const { box, root } = frame(title, "bars");
  const max = niceMax(Math.max(0, ...values));
  axes(root, labels, max, unit);
  const ih = H - PAD.t - PAD.b;
  const iw = (W - PAD.l - PAD.r) / Math.max(1, values.length);
  values.forEach((v, i) => {
    const bh = (ih * v) / max;
    const bar = svg("rect", { x: PAD.l + iw * i + iw * 0.15, y: PAD.t + ih - bh, width: Math.max(1, iw * 0.7),
      height: bh, fill: color, class: "bar", "data-value": v });
    bar.append(svg("title", {}, `${labels[i]}: ${unit(v)}`));
    root.append(bar);
  });
  return box;
}

/** Lines per day, one per series, with a legend. */
export function lines(title: string, labels: string[], series: Record<string, number[]>, unit = plain): HTMLElement {
  const { box, root } = frame(title, "lines");
  const all = Object.values(series).flat();
  const max = niceMax(Math.max(0, ...all));
  axes(root, labels, max, unit);
  const ih = H - PAD.t - PAD.b;
  const iw = (W - PAD.l - PAD.r) / Math.max(1, labels.length);
  Object.entries(series).forEach(([name, vals], k) => {
    const pts = vals.map((v, i) => `${(PAD.l + iw * (i + 0.5)).toFixed(1)},${(PAD.t + ih - (ih * v) / max).toFixed(1)}`);
    root.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[k % COLORS.length],
      "stroke-width": 2, class: "line", "data-series": name }));
    vals.forEach((v, i) => { if (v) root.append(svg("circle", { cx: PAD.l + iw * (i + 0.5), cy: PAD.t + ih - (ih * v) / max, r: 2.5,
      fill: COLORS[k % COLORS.length], class: "dot" })); });
    root.append(svg("text", { x: PAD.l + 6 + k * 70, y: PAD.t + 8, class: "legend", fill: COLORS[k % COLORS.length] }, name));
  });
  return box;
}

/** A split of a whole (audience by region, by age band) as horizontal bars with shares. */
export function split(title: string, parts: Record<string, number>): HTMLElement {
  const { box, root } = frame(title, "split");
  const entries = Object.entries(parts).sort((a, b) => b[1] - a[1]).slice(0, 7);
  const total = entries.reduce((s, [, v]) => s + v, 0) || 1;
  const rowH = (H - PAD.t) / Math.max(4, entries.length);
  entries.forEach(([name, v], i) => {
    const y = PAD.t + i * rowH;
    const w = ((W - 120) * v) / total;
    root.append(svg("text", { x: 4, y: y + rowH * 0.65, class: "tick" }, name));
    const bar = svg("rect", { x: 70, y: y + rowH * 0.15, width: Math.max(1, w), height: rowH * 0.7,
      fill: COLORS[i % COLORS.length], class: "bar", "data-value": v });
    root.append(bar);
    root.append(svg("text", { x: 74 + w, y: y + rowH * 0.65, class: "tick" }, `${Math.round((100 * v) / total)}%`));
  });
  if (!entries.length) root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "tick" }, "no viewers yet"));
  return box;
}
