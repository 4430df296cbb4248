// The moderation console (moderators): the review queue with keyframes and per-category scores,
// approve / reject with a reason, appeals (a second reviewer), and the queue's SLA health.

import { post, get, session } from "./api";
import { errorText, h, toast } from "./ui";

function scoreBar(name: string, v: number | null): HTMLElement {
  const pct = v === null ? 0 : Math.round(v * 100);
  const level = v === null ? "none" : v > 0.95 ? "high" : v >= 0.7 ? "mid" : "low";
  return h("div", { class: `score ${level}` }, h("span", { class: "sn" }, name),
    h("span", { class: "sb" }, h("i", { style: `width:${pct}%` })), h("span", { class: "sv" }, v === null ? "unscored" : v.toFixed(2)));
}

// Decisions made here, by queue entry: hidden at once, even while the queue view catches up with them.
const decided = new Set<string>();
const entry = (it: any) => `${it.video_id}@${it.queued_at}`;

function item(it: any, refresh: () => void): HTMLElement {
  const reason = h("input", { type: "text", placeholder: "reason (shown to the creator)", "aria-label": "decision reason" });
  const mature = h("input", { type: "checkbox", "aria-label": "mature (18+)" });
  const decide = async (decision: "approve" | "reject") => {
    try {
      await post(`/moderation/videos/${it.video_id}/decision`, {
        decision, reason: reason.value || (decision === "approve" ? "looks fine" : "breaks the community guidelines"),
        age_rating: decision === "approve" ? (mature.checked ? "mature" : "general") : null });
      toast(decision === "approve" ? "Approved" : "Rejected");
      decided.add(entry(it));
      el.remove();
      refresh();
    } catch (e) { toast(errorText(e)); }
  };
  const frames = [...it.keyframe_urls, ...it.thumbnail_urls].slice(0, 8);
  const el = h("article", { class: "mod-item", "data-video-id": it.video_id },
    h("header", {}, h("b", {}, it.reason === "appeal" ? "Appeal" : it.reason === "reports" ? "Reported" : "Held for review"),
      h("small", {}, ` · waiting ${Math.round(it.age_s / 60)} min · ${it.reports} reports`),
      it.appeal ? h("small", {}, ` · appeal: ${it.appeal}`) : null),
    h("p", { class: "cap" }, it.caption || h("i", {}, "(no caption)")),
    h("div", { class: "frames" }, ...frames.map((u: string) => h("img", { src: u, alt: "keyframe", loading: "lazy" }))),
    h("div", { class: "scores" }, ...Object.entries(it.scores as Record<string, number | null>).map(([k, v]) => scoreBar(k, v))),
    h("div", { class: "decide" }, reason, h("label", { class: "inline" }, mature, " 18+"),
      h("button", { class: "primary", onclick: () => decide("approve") }, "Approve"),
      h("button", { class: "danger", onclick: () => decide("reject") }, "Reject")));
  return el;
}

export async function moderationPage(): Promise<HTMLElement> {
  const s = session();
  if (!s || (s.role !== "moderator" && s.role !== "admin")) {
    return h("div", { class: "page" }, h("h2", {}, "Moderation"),
      h("p", {}, "Moderators only. Sign in with a moderator token (reel users create --role moderator) on the Me page."));
  }
  const page = h("div", { class: "page moderation" });
  const load = async () => {
    try {
      const r = await get("/moderation/queue?limit=50");
      const hl = r.health;
      const items = r.items.filter((it: any) => !decided.has(entry(it)));
      page.replaceChildren(
        h("h2", {}, "Review queue"),
        h("p", { class: hl.sla_breached ? "error" : "muted" },
          `${hl.size} waiting · oldest ${Math.round(hl.oldest_age_s / 60)} min (SLA ${Math.round(hl.sla_s / 3600)} h)`),
        ...(items.length ? items.map((it: any) => item(it, load)) : [h("p", { class: "muted empty-queue" }, "Queue is empty.")]));
    } catch (e) { page.replaceChildren(h("p", { class: "error" }, errorText(e))); }
  };
  await load();
  return page;
}
