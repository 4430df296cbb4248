// Me: sign up (anonymous viewers become registered users), sign in with a token (moderators), sign out;
// and the notifications inbox (marking it read clears the badge).

import { get, post, register, session, setSession, useToken } from "./api";
import { ago, errorText, h } from "./ui";

export function accountPage(): HTMLElement {
  const s = session();
  const page = h("div", { class: "page account" });
  if (s && !s.anonymous) {
    page.append(h("h2", {}, "You"), h("p", {}, `Signed in as `, h("b", { class: "me" }, s.user_id), ` (${s.role})`),
      h("p", {}, h("a", { href: `#/user/${encodeURIComponent(s.user_id)}` }, "Your profile"), " · ",
        h("a", { href: "#/analytics" }, "Your analytics")),
      h("button", { onclick: () => { setSession(null); location.hash = "#/"; } }, "Sign out"));
  } else {
    const name = h("input", { type: "text", name: "name", required: true, maxlength: "100", placeholder: "display name", "aria-label": "name" });
    const region = h("input", { type: "text", name: "region", value: "GB", pattern: "[A-Za-z]{2,8}", "aria-label": "region" });
    const year = h("input", { type: "number", name: "birth_year", min: "1900", max: "2100", value: "1995", "aria-label": "birth year" });
    const msg = h("p", { class: "error" });
    const form = h("form", { class: "signup" }, h("h2", {}, "Sign up"),
      h("p", { class: "muted" }, "Watching needs no account; sign up to like, comment, follow and upload."),
      h("label", {}, "Name", name), h("label", {}, "Region", region), h("label", {}, "Birth year", year),
      h("button", { type: "submit", class: "primary" }, "Create account"), msg);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await register(name.value.trim(), region.value.trim().toUpperCase(), year.value ? Number(year.value) : null);
        location.hash = "#/";
      } catch (err) { msg.textContent = errorText(err); }
    });
    page.append(form);
  }
  const token = h("input", { type: "password", placeholder: "token from `reel users create`", "aria-label": "token" });
  const tmsg = h("p", { class: "error" });
  const tform = h("form", { class: "token" }, h("h3", {}, "Sign in with a token"), token,
    h("button", { type: "submit" }, "Sign in"), tmsg);
  tform.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const me = await useToken(token.value.trim());
      location.hash = me.role === "moderator" || me.role === "admin" ? "#/moderation" : "#/";
    } catch (err) { tmsg.textContent = errorText(err); }
  });
  page.append(tform);
  return page;
}

export async function notificationsPage(setBadge: (n: number) => void): Promise<HTMLElement> {
  const s = session();
  if (!s || s.anonymous) {
    return h("div", { class: "page" }, h("h2", {}, "Inbox"), h("p", {}, "Sign up to get notified about likes, comments and followers."),
      h("a", { class: "button primary", href: "#/account" }, "Sign up"));
  }
  const r = await get("/notifications?limit=50");
  const icon: Record<string, string> = { like: "♥", comment: "“", follow: "+", trending: "↑" };
  const list = h("ul", { class: "inbox" }, ...r.items.map((n: any) =>
    h("li", { class: n.read ? "" : "unread" }, h("span", { class: "ni" }, icon[n.kind] ?? "•"),
      h("span", {}, n.actor ? h("b", {}, n.actor.name + " ") : null, n.text),
      n.video_id ? h("a", { href: `#/video/${n.video_id}` }, " ▶") : null, h("small", {}, " " + ago(n.ts)))));
  if (r.unread) {
    post("/notifications/read", {}).then((x) => setBadge(x.unread)).catch(() => undefined);
  }
  return h("div", { class: "page notifications" }, h("h2", {}, "Inbox"),
    r.items.length ? list : h("p", { class: "muted" }, "Nothing yet."));
}
