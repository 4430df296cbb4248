// The web client's shell: hash routes, the tab bar with the notifications badge, page mounting.

import "./style.css";
import { type Session, type VideoCard, ensureSession, get, onSession, session } from "./api";
import { accountPage, notificationsPage } from "./account";
import { analyticsPage } from "./analytics";
import { discoverPage, userPage } from "./discover";
import { Feed } from "./feed";
import { moderationPage } from "./moderation";
import { uploadPage } from "./upload";
import { icon } from "./icons";
import { errorText, h } from "./ui";

const main = h("main", { id: "view" });
const badge = h("span", { class: "badge", hidden: true, "aria-label": "unread notifications" });
let feed: Feed | null = null;

function tab(href: string, name: string, label: string, extra?: HTMLElement): HTMLElement {
  return h("a", { href, class: "tab", "data-route": href.slice(2) || "feed" }, h("span", { class: "ti" }, icon(name)),
    h("span", { class: "tl" }, label), extra ?? null);
}

const modTab = tab("#/moderation", "shield", "Review");
const nav = h("nav", { class: "tabs" },
  tab("#/", "home", "For You"), tab("#/discover", "search", "Discover"), tab("#/upload", "plus", "Upload"),
  tab("#/notifications", "bell", "Inbox", badge), tab("#/analytics", "chart", "Analytics"), modTab,
  tab("#/account", "user", "Me"));

function updateRole(s: Session | null): void {
  modTab.hidden = !(s && (s.role === "moderator" || s.role === "admin"));
}

async function refreshBadge(): Promise<void> {
  const s = session();
  if (!s || s.anonymous) { badge.hidden = true; return; }
  try {
    const r = await get(`/notifications?limit=1`);
    badge.textContent = r.unread > 99 ? "99+" : String(r.unread);
    badge.hidden = !r.unread;
  } catch { /* keep the last count */ }
}

export function setBadge(n: number): void { badge.textContent = String(n); badge.hidden = !n; }

async function route(): Promise<void> {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  const [page, arg] = path.split("/");
  feed?.destroy();
  feed = null;
  main.replaceChildren();
  document.body.dataset.page = page || "feed";
  for (const a of nav.querySelectorAll<HTMLElement>(".tab")) a.classList.toggle("on", a.dataset.route === (page || "feed"));
  try {
    await ensureSession();
    switch (page) {
      case "":
      case "feed":
        feed = new Feed([], Math.min(50, Math.max(1, Number(params.get("page")) || 8)));
        main.append(feed.el);
        await feed.start();
        break;
      case "video": {
        const card = await get<VideoCard>(`/videos/${encodeURIComponent(arg)}`);
        feed = new Feed([card]);
        main.append(feed.el);
        await feed.start();
        break;
      }
      case "discover": main.append(await discoverPage(params)); break;
      case "user": main.append(await userPage(decodeURIComponent(arg))); break;
      case "upload": main.append(uploadPage()); break;
      case "analytics": main.append(await analyticsPage(arg ? decodeURIComponent(arg) : null)); break;
      case "moderation": main.append(await moderationPage()); break;
      case "notifications": main.append(await notificationsPage(setBadge)); break;
      case "account": main.append(accountPage()); break;
      default: main.append(h("div", { class: "page" }, h("h2", {}, "Not found"), h("a", { href: "#/" }, "Back to the feed")));
    }
  } catch (e) {
    main.append(h("div", { class: "page" }, h("p", { class: "error" }, errorText(e))));
  }
}

document.querySelector("#app")!.append(main, nav);
onSession((s) => { updateRole(s); refreshBadge(); });
updateRole(session());
window.addEventListener("hashchange", () => { route().then(refreshBadge); });
route().then(refreshBadge);
setInterval(refreshBadge, 20000);
