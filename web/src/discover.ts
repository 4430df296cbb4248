// Discover: search by hashtag, sound, user or caption; trending (global, a region, a hashtag, a sound);
// creator profiles with their videos.

import { type VideoCard, del, get, post } from "./api";
import { needAccount } from "./video_ui";
import { errorText, fmt, h, toast } from "./ui";

export function grid(videos: VideoCard[]): HTMLElement {
  if (!videos.length) return h("p", { class: "muted" }, "No videos here yet.");
  return h("div", { class: "grid" }, ...videos.map((v) =>
    h("a", { class: "tile", href: `#/video/${v.video_id}`, "data-video-id": v.video_id },
      v.thumbnail_url ? h("img", { src: v.thumbnail_url, alt: v.description, loading: "lazy" }) : h("div", { class: "noimg" }),
      h("span", { class: "plays" }, `▶ ${fmt(v.stats.plays)}`),
      h("span", { class: "cap" }, v.description))));
}

async function results(type: string, q: string): Promise<HTMLElement> {
  const r = await get(`/search?${new URLSearchParams({ q, type, limit: "30" })}`);
  if (type === "video") return grid(r.results);
  if (!r.results.length) return h("p", { class: "muted" }, `No ${type}s match “${q}”.`);
  return h("ul", { class: "hits" }, ...r.results.map((x: any) => {
    if (type === "hashtag") return h("li", {}, h("a", { href: `#/discover?tag=${encodeURIComponent(x.hashtag)}` }, `#${x.hashtag}`),
      h("small", {}, ` ${x.videos} videos`));
    if (type === "sound") return h("li", {}, h("a", { href: `#/discover?sound=${encodeURIComponent(x.sound_id)}` }, `♪ ${x.title}`),
      h("small", {}, ` ${x.videos} videos`));
    return h("li", {}, h("a", { href: `#/user/${encodeURIComponent(x.id)}` }, `@${x.name}`),
      h("small", {}, ` ${fmt(x.followers)} followers`));
  }));
}

export async function discoverPage(params: URLSearchParams): Promise<HTMLElement> {
  const tag = params.get("tag");
  const sound = params.get("sound");
  const input = h("input", { type: "search", placeholder: "Search hashtags, sounds, people, videos", "aria-label": "search",
    value: params.get("q") ?? "" });
  const type = h("select", { "aria-label": "search type" },
    ...["hashtag", "sound", "user", "video"].map((t) => h("option", { value: t, selected: t === (params.get("type") ?? "hashtag") }, t)));
  const out = h("div", { class: "results" });
  const form = h("form", { class: "search" }, input, type, h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (input.value.trim()) location.hash = `#/discover?${new URLSearchParams({ q: input.value.trim(), type: type.value })}`;
  });
  const page = h("div", { class: "page discover" }, form, out);
  try {
    const q = params.get("q");
    if (q) {
      out.append(h("h3", {}, `${type.value} results for “${q}”`), await results(type.value, q));
    } else if (tag) {
      const [trend, found] = await Promise.all([get(`/trending?hashtag=${encodeURIComponent(tag)}`),
        get(`/search?${new URLSearchParams({ q: tag, type: "video", limit: "30" })}`)]);
      const seen = new Set(trend.videos.map((v: VideoCard) => v.video_id));
      out.append(h("h2", {}, `#${tag}`), grid([...trend.videos, ...found.results.filter((v: VideoCard) => !seen.has(v.video_id))]));
    } else if (sound) {
      const r = await get(`/trending?sound=${encodeURIComponent(sound)}`);
      const title = r.videos[0]?.music?.title ?? sound;
      out.append(h("h2", {}, `♪ ${title}`), grid(r.videos));
    } else {
      const region = params.get("region");
      const r = await get(`/trending${region ? `?region=${encodeURIComponent(region)}` : ""}`);
      out.append(h("h2", {}, r.scope === "global" ? "Trending now" : `Trending in ${r.scope.replace("region:", "")}`),
        grid(r.videos));
    }
  } catch (e) { out.append(h("p", { class: "error" }, errorText(e))); }
  return page;
}

export async function userPage(userId: string): Promise<HTMLElement> {
  const [u, vids] = await Promise.all([get(`/users/${encodeURIComponent(userId)}`),
    get(`/users/${encodeURIComponent(userId)}/videos?limit=60`)]);
  let on = Boolean(u.you_follow);
  const btn = h("button", { class: on ? "" : "primary" }, on ? "Following" : "Follow");
  btn.addEventListener("click", async () => {
    if (needAccount("follow creators")) return;
    try {
      if (on) await del(`/users/${userId}/follow`); else await post(`/users/${userId}/follow`);
      on = !on;
      btn.textContent = on ? "Following" : "Follow";
      btn.className = on ? "" : "primary";
    } catch (e) { toast(errorText(e)); }
  });
  return h("div", { class: "page profile" },
    h("header", {}, h("span", { class: "avatar big" }, (u.name || "?").slice(0, 1).toUpperCase()),
      h("h2", {}, `@${u.name}`), u.bio ? h("p", {}, u.bio) : null,
      h("p", { class: "nums" }, h("b", {}, fmt(u.following)), " following · ", h("b", {}, fmt(u.followers)),
        " followers · ", h("b", {}, fmt(u.likes)), " likes"), btn),
    grid(vids.videos));
}
