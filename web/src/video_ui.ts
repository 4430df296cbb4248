// What sits on a video: creator, caption with clickable hashtags and sound, and the action rail
// (follow, like, comments sheet, share, not interested, report).

import { ApiError, type VideoCard, del, get, post, session } from "./api";
import { icon } from "./icons";
import { ago, errorText, fmt, h, sheet, toast } from "./ui";

const liked = new Set<string>();
const following = new Set<string>();

/** Engaging needs an account: anonymous viewers are sent to sign up. */
export function needAccount(what: string): boolean {
  const s = session();
  if (s && !s.anonymous) return false;
  toast(`Sign up to ${what}`);
  location.hash = "#/account";
  return true;
}

function avatar(name: string, url: string | null, cls = "avatar"): HTMLElement {
  if (url) return h("img", { class: cls, src: url, alt: name });
  return h("span", { class: cls }, (name || "?").slice(0, 1).toUpperCase());
}

export function caption(card: VideoCard): HTMLElement {
  const text = h("p", { class: "desc" });
  for (const part of card.description.split(/(#[\p{L}\p{N}_]+)/u)) {
    if (part.startsWith("#") && part.length > 1) {
      text.append(h("a", { href: `#/discover?tag=${encodeURIComponent(part.slice(1))}`, class: "tag" }, part));
    } else if (part) text.append(part);
  }
  const inCaption = new Set(card.description.match(/#[\p{L}\p{N}_]+/gu)?.map((t) => t.slice(1).toLowerCase()));
  for (const tag of card.hashtags) {
    if (inCaption.has(tag.toLowerCase())) continue;
    text.append(" ", h("a", { href: `#/discover?tag=${encodeURIComponent(tag)}`, class: "tag" }, `#${tag}`));
  }
  return h("div", { class: "caption" },
    h("a", { class: "who", href: `#/user/${encodeURIComponent(card.creator.id)}` }, `@${card.creator.name}`),
    text,
    card.music ? h("a", { class: "sound", href: `#/discover?sound=${encodeURIComponent(card.music.id)}` },
      icon("music", 14), ` ${card.music.title}`) : null);
}

export function actions(card: VideoCard, onNotInterested: () => void): HTMLElement {
  const id = card.video_id;
  const likeCount = h("span", { class: "count" }, fmt(card.stats.likes));
  const commentCount = h("span", { class: "count" }, fmt(card.stats.comments));
  const shareCount = h("span", { class: "count" }, fmt(card.stats.shares));
  const likeBtn = h("button", { class: "act like", "aria-label": "like", "aria-pressed": String(liked.has(id)) },
    h("span", { class: "glyph" }, icon("heart", 34)), likeCount);
  likeBtn.addEventListener("click", async () => {
    if (needAccount("like videos")) return;
    const on = !liked.has(id);
    try {
      const r = on ? await post(`/videos/${id}/like`) : await del(`/videos/${id}/like`);
      card.stats = r.stats;
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) { toast(errorText(e)); return; }
    }
    if (on) liked.add(id); else liked.delete(id);
    likeBtn.setAttribute("aria-pressed", String(on));
    likeCount.textContent = fmt(card.stats.likes);
  });

  const me = session();
  const followBtn = card.creator.id === me?.user_id ? null :
    h("button", { class: "follow", "aria-label": "follow", "data-on": String(following.has(card.creator.id)) },
      following.has(card.creator.id) ? "✓" : "+");
  followBtn?.addEventListener("click", async () => {
    if (needAccount("follow creators")) return;
    const on = !following.has(card.creator.id);
    try {
      if (on) await post(`/users/${card.creator.id}/follow`); else await del(`/users/${card.creator.id}/follow`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 409)) { toast(errorText(e)); return; }
    }
    if (on) following.add(card.creator.id); else following.delete(card.creator.id);
    followBtn.textContent = on ? "✓" : "+";
    followBtn.dataset.on = String(on);
    toast(on ? `Following ${card.creator.name}` : `Unfollowed ${card.creator.name}`);
  });

  const commentBtn = h("button", { class: "act", "aria-label": "comments" }, h("span", { class: "glyph" }, icon("comment", 32)),
    commentCount);
  commentBtn.addEventListener("click", () => comments(card, commentCount));

  const shareBtn = h("button", { class: "act", "aria-label": "share" }, h("span", { class: "glyph" }, icon("share", 32)),
    shareCount);
  shareBtn.addEventListener("click", async () => {
    const link = `${location.origin}/#/video/${id}`;
    try { await navigator.clipboard.writeText(link); toast("Link copied"); } catch { toast(link); }
    if (session()?.anonymous) return;
    try {
      const r = await post(`/videos/${id}/share`, { channel: "link" });
      card.stats = r.stats;
      shareCount.textContent = fmt(card.stats.shares);
    } catch { /* the link is copied either way */ }
  });

  const moreBtn = h("button", { class: "act", "aria-label": "more" }, h("span", { class: "glyph" }, icon("more", 32)));
  moreBtn.addEventListener("click", () => more(card, onNotInterested));

  return h("aside", { class: "rail" },
    h("div", { class: "creator" },
      h("a", { href: `#/user/${encodeURIComponent(card.creator.id)}` }, avatar(card.creator.name, card.creator.avatar)),
      followBtn),
    likeBtn, commentBtn, shareBtn, moreBtn);
}

function comments(card: VideoCard, counter: HTMLElement): void {
  const { body } = sheet(`${fmt(card.stats.comments)} comments`);
  const list = h("ul", { class: "comments" }, h("li", { class: "muted" }, "Loading…"));
  const input = h("input", { type: "text", placeholder: "Add a comment…", maxlength: "2000", "aria-label": "comment" });
  const form = h("form", { class: "comment-box" }, input, h("button", { type: "submit" }, "Post"));
  body.append(list, form);
  const load = async () => {
    try {
      const r = await get(`/videos/${card.video_id}/comments?limit=50`);
      list.replaceChildren(...(r.comments.length ? r.comments.map((c: any) =>
        h("li", {}, h("b", {}, c.user.name), " ", c.text, h("small", {}, " · " + ago(c.ts))))
        : [h("li", { class: "muted" }, "No comments yet. Say something nice.")]));
    } catch (e) { list.replaceChildren(h("li", { class: "error" }, errorText(e))); }
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || needAccount("comment")) return;
    try {
      await post(`/videos/${card.video_id}/comments`, { text });
      input.value = "";
      card.stats.comments += 1;
      counter.textContent = fmt(card.stats.comments);
      await load();
    } catch (err) { toast(errorText(err)); }
  });
  load();
}

function more(card: VideoCard, onNotInterested: () => void): void {
  const { body, close } = sheet("More");
  const reasons = ["spam", "nudity", "violence", "hate or harassment", "copyright", "misleading"];
  const select = h("select", { "aria-label": "report reason" }, ...reasons.map((r) => h("option", { value: r }, r)));
  body.append(
    h("button", { class: "wide", onclick: async () => {
      try {
        await post(`/videos/${card.video_id}/not-interested`, { creator: true, sound: false });
        toast("Got it — you'll see less like this");
        close();
        onNotInterested();
      } catch (e) { toast(errorText(e)); }
    } }, "Not interested"),
    h("div", { class: "report" }, select, h("button", { class: "danger", onclick: async () => {
      if (needAccount("report videos")) { close(); return; }
      try {
        await post(`/videos/${card.video_id}/report`, { reason: select.value });
        toast("Reported. Thanks for keeping Reelstack safe.");
        close();
      } catch (e) { toast(errorText(e)); }
    } }, "Report")));
}
