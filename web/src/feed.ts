// The For You feed: full-height slides, swipe / wheel / keys, autoplay muted, the next 3 preloaded,
// prefetch hints fetched into the HTTP cache, watch events on leave, the next page fetched early.

import { ApiError, type FeedPage, type PrefetchHint, type VideoCard, get, post, session } from "./api";
import { Player } from "./player";
import { actions, caption } from "./video_ui";
import { icon } from "./icons";
import { h } from "./ui";

const AHEAD = 3;        // players preloading ahead of the current one
const PAGE = 8;         // videos per feed request (``#/?page=N`` overrides)

interface Slide { card: VideoCard; el: HTMLElement; player: Player | null; shownAt: number }

export class Feed {
  readonly el: HTMLElement;
  private slides: Slide[] = [];
  private index = -1;
  private cursor: string | null = null;
  private loading: Promise<void> | null = null;
  private exhausted = false;
  private muted = true;
  private requestId: string | null = null;
  private warmed = new Set<string>();
  private wheelLock = 0;
  private touchY: number | null = null;
  private destroyed = false;
  private readonly onKey = (e: KeyboardEvent) => this.key(e);
  private readonly onHide = () => this.leave();

  constructor(private readonly first: VideoCard[] = [], private readonly pageSize = PAGE) {
    this.el = h("div", { class: "feed", tabindex: "0", "aria-label": "For You feed" });
    this.el.addEventListener("wheel", (e) => this.wheel(e), { passive: true });
    this.el.addEventListener("touchstart", (e) => { this.touchY = e.touches[0].clientY; }, { passive: true });
    this.el.addEventListener("touchend", (e) => this.touchEnd(e), { passive: true });
    document.addEventListener("keydown", this.onKey);
    window.addEventListener("pagehide", this.onHide);
    const nav = h("div", { class: "feed-nav" },
      h("button", { class: "icon", "aria-label": "previous video", onclick: () => this.go(this.index - 1) }, icon("up")),
      h("button", { class: "icon", "aria-label": "next video", onclick: () => this.go(this.index + 1) }, icon("down")));
    this.el.append(nav);
  }

  async start(): Promise<void> {
    for (const c of this.first) this.addSlide(c);
    await this.more();
    if (this.slides.length === 0) {
      this.el.append(h("div", { class: "empty" }, "Nothing to watch yet — upload the first video!"));
      return;
    }
    this.go(0);
  }

  destroy(): void {
    this.leave();
    this.destroyed = true;
    document.removeEventListener("keydown", this.onKey);
    window.removeEventListener("pagehide", this.onHide);
    for (const s of this.slides) s.player?.destroy();
  }

  /** Fetch the next page (once at a time); its prefetch hints warm the HTTP cache. */
  private more(): Promise<void> {
    if (this.loading || this.exhausted) return this.loading ?? Promise.resolve();
    const q = new URLSearchParams({ count: String(this.pageSize) });
    if (this.cursor) q.set("cursor", this.cursor);
    this.loading = get<FeedPage>(`/feed?${q}`).then((page) => {
      if (this.destroyed) return;
      this.cursor = page.cursor;
      this.requestId = page.request_id;
      this.el.dataset.personalized = String(page.personalized);
      const have = new Set(this.slides.map((s) => s.card.video_id));
      const fresh = page.videos.filter((v) => !have.has(v.video_id));
      for (const c of fresh) this.addSlide(c);
      if (!page.cursor || page.videos.length === 0) this.exhausted = true;
      this.warm(page.prefetch);
      this.preload();
    }).catch((e) => {
      if (!(e instanceof ApiError) || e.status >= 500) setTimeout(() => { this.loading = null; }, 2000);
      throw e;
    }).finally(() => { this.loading = null; });
    return this.loading;
  }

  private warm(hints: PrefetchHint[]): void {
    for (const hint of hints) {
      for (const url of [hint.master_url, hint.playlist_url, hint.first_segment_url]) {
        if (!url || this.warmed.has(url)) continue;
        this.warmed.add(url);
        fetch(url, { priority: "low" } as RequestInit).catch(() => undefined);
      }
    }
  }

  private addSlide(card: VideoCard): void {
    const el = h("section", { class: "slide", "data-video-id": card.video_id });
    el.style.transform = `translateY(${(this.slides.length - Math.max(0, this.index)) * 100}%)`;
    if (card.thumbnail_url) el.style.backgroundImage = `url("${card.thumbnail_url}")`;
    const slide: Slide = { card, el, player: null, shownAt: 0 };
    const badge = h("button", { class: "mute", "aria-label": "unmute" }, icon("muted", 16), " Tap to unmute");
    const stage = h("div", { class: "stage", onclick: () => this.tap(slide, badge) });
    el.append(stage, badge, caption(card), actions(card, () => this.removeCreator(card)));
    this.slides.push(slide);
    this.el.append(el);
  }

  private ensurePlayer(s: Slide): Player {
    if (!s.player) {
      s.player = new Player(s.card.hls_url, this.muted);
      s.el.querySelector(".stage")!.append(s.player.video);
    }
    return s.player;
  }

  /** Keep players for [index-1, index+AHEAD]: hidden ones load their first segments now. */
  private preload(): void {
    this.slides.forEach((s, i) => {
      if (i >= this.index - 1 && i <= this.index + AHEAD) this.ensurePlayer(s).attach();
      else if (s.player) { s.player.destroy(); s.player.video.remove(); s.player = null; }
    });
  }

  go(next: number): void {
    if (next < 0 || next >= this.slides.length || next === this.index) return;
    this.leave();
    this.index = next;
    this.slides.forEach((s, i) => {
      s.el.style.transform = `translateY(${(i - next) * 100}%)`;
      s.el.classList.toggle("active", i === next);
    });
    const s = this.slides[next];
    const p = this.ensurePlayer(s);
    p.video.muted = this.muted;
    p.play();
    p.video.classList.add("active");
    s.shownAt = performance.now();
    this.el.dataset.index = String(next);
    this.send([{ type: "impression", video_id: s.card.video_id, position: next,
      request_id: s.card.request_id ?? this.requestId ?? undefined, source: "web" }]);
    this.preload();
    if (this.slides.length - next <= AHEAD + 1) this.more().catch(() => undefined);
  }

  /** Report the video being left: time watched, loops (a short watch is a skip). */
  private leave(): void {
    const s = this.slides[this.index];
    if (!s || !s.player || !s.shownAt) return;
    s.player.pause();
    s.player.video.classList.remove("active");
    const r = s.player.takeReport(Math.round(s.card.duration_sec * 1000));
    s.shownAt = 0;
    this.send([{ type: "view_ended", video_id: s.card.video_id, position: this.index, ...r,
      request_id: s.card.request_id ?? this.requestId ?? undefined, source: "web" }]);
  }

  private send(events: Record<string, unknown>[]): void {
    if (!session()) return;
    post("/events", { events: events.map((e) => Object.fromEntries(
      Object.entries(e).filter(([, v]) => v !== undefined))) }).catch(() => undefined);
  }

  private tap(s: Slide, badge: HTMLElement): void {
    const v = s.player?.video;
    if (!v) return;
    if (this.muted) {
      this.muted = false;
      for (const o of this.slides) if (o.player) o.player.video.muted = false;
      document.body.classList.add("unmuted");
      badge.remove();
      return;
    }
    if (v.paused) v.play().catch(() => undefined); else v.pause();
  }

  private removeCreator(card: VideoCard): void {
    // "Not interested": drop the creator's upcoming slides from this session too.
    const keep = this.slides.filter((s, i) => i <= this.index || s.card.creator.id !== card.creator.id);
    for (const s of this.slides) if (!keep.includes(s)) { s.player?.destroy(); s.el.remove(); }
    this.slides = keep;
    this.go(this.index + 1);
  }

  private key(e: KeyboardEvent): void {
    if (!this.el.isConnected || (e.target as HTMLElement)?.closest?.("input,textarea,select")) return;
    if (e.key === "ArrowDown" || e.key === "j" || e.key === "PageDown") { e.preventDefault(); this.go(this.index + 1); }
    if (e.key === "ArrowUp" || e.key === "k" || e.key === "PageUp") { e.preventDefault(); this.go(this.index - 1); }
    if (e.key === "m") { const s = this.slides[this.index]; if (s) this.tap(s, s.el.querySelector(".mute") ?? h("i")); }
  }

  private wheel(e: WheelEvent): void {
    if ((e.target as HTMLElement).closest(".sheet-back")) return;
    const now = performance.now();
    if (Math.abs(e.deltaY) < 20 || now < this.wheelLock) return;
    this.wheelLock = now + 500;
    this.go(this.index + (e.deltaY > 0 ? 1 : -1));
  }

  private touchEnd(e: TouchEvent): void {
    if (this.touchY === null) return;
    const dy = e.changedTouches[0].clientY - this.touchY;
    this.touchY = null;
    if (Math.abs(dy) > 50) this.go(this.index + (dy < 0 ? 1 : -1));
  }
}
