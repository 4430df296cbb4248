// Creator analytics: per-day charts of views, watch time, completion, likes / shares / follows and the
// audience split by region and age band (the creator's own, or any creator's for an admin).

import { get, session } from "./api";
import { bars, lines, split } from "./charts";
import { fmt, h } from "./ui";

interface Day {
  day: string; views: number; unique_viewers: number; watch_ms: number; avg_watch_ms: number;
  avg_completion: number; likes: number; comments: number; shares: number; follows: number;
  audience_regions: Record<string, number>; audience_ages: Record<string, number>;
}

function sum(parts: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export async function analyticsPage(creatorId: string | null, days = 14): Promise<HTMLElement> {
  const s = session();
  const id = creatorId ?? s?.user_id;
  if (!s || s.anonymous || !id) {
    return h("div", { class: "page" }, h("h2", {}, "Analytics"),
      h("p", {}, "Sign up and upload videos to see how they do."), h("a", { class: "button primary", href: "#/account" }, "Sign up"));
  }
  const r = await get(`/creators/${encodeURIComponent(id)}/analytics?days=${days}`);
  const rows = r.days as Day[];
  const labels = rows.map((d) => d.day);
  const minutes = (ms: number) => ms / 60000;
  const total = (k: keyof Day) => rows.reduce((a, d) => a + (d[k] as number), 0);
  const longWatch = Math.max(0, ...rows.map((d) => d.watch_ms)) >= 120_000;
  const kpi = (label: string, v: string) => h("div", { class: "kpi" }, h("b", {}, v), h("small", {}, label));
  return h("div", { class: "page analytics", "data-creator": id },
    h("h2", {}, "Analytics"), h("p", { class: "muted" }, `${r.from} → ${r.to}`),
    h("div", { class: "kpis" },
      kpi("views", fmt(total("views"))), kpi("watch time", total("watch_ms") >= 120_000
        ? `${minutes(total("watch_ms")).toFixed(1)} min` : `${Math.round(total("watch_ms") / 1000)} s`),
      kpi("likes", fmt(total("likes"))), kpi("followers gained", fmt(total("follows"))),
      kpi("viewers (daily uniques)", fmt(total("unique_viewers"))), kpi("comments", fmt(total("comments")))),
    h("div", { class: "charts" },
      bars("Views per day", labels, rows.map((d) => d.views)),
      longWatch
        ? bars("Watch time (minutes)", labels, rows.map((d) => minutes(d.watch_ms)), (v) => v.toFixed(1), "#25f4ee")
        : bars("Watch time (seconds)", labels, rows.map((d) => d.watch_ms / 1000), (v) => v.toFixed(0), "#25f4ee"),
      lines("Average completion (%)", labels, { completion: rows.map((d) => Math.round(d.avg_completion * 100)) },
        (v) => `${Math.round(v)}%`),
      lines("Likes, shares, follows", labels, {
        likes: rows.map((d) => d.likes), shares: rows.map((d) => d.shares), follows: rows.map((d) => d.follows) }),
      split("Audience by region", sum(rows.map((d) => d.audience_regions))),
      split("Audience by age", sum(rows.map((d) => d.audience_ages)))));
}
