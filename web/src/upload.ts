// Upload: pick a file, caption, hashtags, sound, privacy; the bytes go up with a progress bar (XHR), then
// the status is polled: processing -> published / in review / rejected (with the reason; appeal once).

import { post, get, session, uploadFile } from "./api";
import { errorText, h } from "./ui";

const DONE = new Set(["published", "rejected", "failed", "removed", "in_review"]);
const LABEL: Record<string, string> = {
  requested: "waiting for the file", uploaded: "processing", processing: "processing", transcoded: "processing",
  moderating: "checking it is safe", approved: "publishing", published: "published", in_review: "in review",
  rejected: "rejected", failed: "failed", removed: "removed",
};

export function uploadPage(): HTMLElement {
  const s = session();
  if (!s || s.anonymous) {
    return h("div", { class: "page" }, h("h2", {}, "Upload"),
      h("p", {}, "Create an account to upload videos."), h("a", { class: "button primary", href: "#/account" }, "Sign up"));
  }
  const file = h("input", { type: "file", accept: "video/*", required: true, "aria-label": "video file", name: "file" });
  const desc = h("textarea", { name: "description", maxlength: "2200", placeholder: "Describe your video #hashtags", rows: "3",
    "aria-label": "caption" });
  const tags = h("input", { type: "text", name: "hashtags", placeholder: "hashtags, comma separated", "aria-label": "hashtags" });
  const sound = h("input", { type: "text", name: "sound", placeholder: "sound title (optional)", "aria-label": "sound" });
  const privacy = h("select", { name: "privacy", "aria-label": "privacy" },
    h("option", { value: "public" }, "Everyone"), h("option", { value: "friends" }, "Friends"),
    h("option", { value: "private" }, "Only me"));
  const bar = h("progress", { max: "1", value: "0", class: "progress", "aria-label": "upload progress" });
  const status = h("p", { class: "status", "data-status": "" });
  const submit = h("button", { type: "submit", class: "primary" }, "Post");
  const form = h("form", { class: "page upload" }, h("h2", {}, "Upload a video"),
    h("label", {}, "Video", file), h("label", {}, "Caption", desc), h("label", {}, "Hashtags", tags),
    h("label", {}, "Sound", sound), h("label", {}, "Who can watch", privacy), submit, bar, status);

  const setStatus = (st: string, text: string) => { status.dataset.status = st; status.textContent = text; };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f) return;
    submit.disabled = true;
    try {
      setStatus("uploading", "Uploading… 0%");
      const ticket = await post("/videos/upload-url");
      if (f.size > ticket.max_bytes) throw new Error(`the file is larger than ${Math.round(ticket.max_bytes / 1e6)} MB`);
      await uploadFile(ticket.upload_url, f, (x) => { bar.value = x; setStatus("uploading", `Uploading… ${Math.round(x * 100)}%`); });
      const title = sound.value.trim();
      const hashtags = tags.value.split(/[,\s]+/).map((t) => t.replace(/^#/, "")).filter(Boolean);
      await post(`/videos/${ticket.video_id}/publish`, {
        description: desc.value, hashtags, privacy: privacy.value,
        music_id: title ? `sound-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}` : null, music_title: title || null,
      });
      form.dataset.videoId = ticket.video_id;
      await poll(ticket.video_id, setStatus, form);
    } catch (err) {
      setStatus("error", errorText(err));
    } finally { submit.disabled = false; }
  });
  return form;
}

async function poll(id: string, setStatus: (st: string, text: string) => void, form: HTMLElement): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const v = await get(`/videos/${id}`);
    const label = LABEL[v.status] ?? v.status;
    if (!DONE.has(v.status)) setStatus(v.status, `${label[0].toUpperCase()}${label.slice(1)}… ${Math.round((Date.now() - t0) / 1000)} s`);
    else {
      setStatus(v.status, v.status === "published" ? "Published! It is in the feed now."
        : v.status === "in_review" ? "In review: a moderator will look at it soon."
        : `${label[0].toUpperCase()}${label.slice(1)}: ${v.reason ?? "no reason given"}`);
      if (v.status === "published") form.append(h("a", { class: "button", href: `#/video/${id}` }, "Watch it"));
      if (v.status === "rejected" && v.appeal !== "pending") {
        const btn = h("button", { type: "button" }, "Appeal");
        btn.addEventListener("click", async () => {
          try { await post(`/videos/${id}/appeal`, { reason: "please take another look" }); btn.replaceWith("Appeal filed."); }
          catch (e) { btn.replaceWith(errorText(e)); }
        });
        form.append(btn);
      }
      return;
    }
    await new Promise((ok) => setTimeout(ok, 1000));
  }
}
