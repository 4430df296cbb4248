// One feed slide's player: HLS through hls.js (native HLS where MSE is missing), preloading while hidden,
// and the watch accounting (time actually played, loops) that becomes a view_ended event.

import Hls from "hls.js/light";

export interface WatchReport { watch_ms: number; duration_ms: number; loops: number }

const PRELOAD_CONFIG = {
  // Hidden players buffer a little (the first segments) so a swipe starts at once; the visible one more.
  maxBufferLength: 4,
  maxMaxBufferLength: 8,
  startLevel: 0,
  capLevelToPlayerSize: true,
  enableWorker: true,
  backBufferLength: 10,
};

export class Player {
  readonly video: HTMLVideoElement;
  private hls: Hls | null = null;
  private attached = false;
  private lastTime = 0;
  private lastWall = 0;
  private playedMs = 0;
  private loops = 0;
  startedAt = 0;          // performance.now() when play() was asked for
  firstFrameMs = -1;      // ms from play() to the first advancing frame (prefetch check)

  constructor(private readonly src: string | null, muted: boolean) {
    const v = document.createElement("video");
    v.muted = muted;
    v.loop = true;
    v.playsInline = true;
    v.preload = "auto";
    v.setAttribute("playsinline", "");
    v.setAttribute("webkit-playsinline", "");
    v.addEventListener("timeupdate", () => this.onTime());
    this.video = v;
  }

  /** Start loading (playlist + first segments) without playing: the prefetch of upcoming videos. */
  attach(): void {
    if (this.attached || !this.src) return;
    this.attached = true;
    const v = this.video;
    if (Hls.isSupported()) {
      const hls = new Hls(PRELOAD_CONFIG);
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else v.dataset.error = data.details;
      });
      hls.loadSource(this.src);
      hls.attachMedia(v);
      this.hls = hls;
    } else if (v.canPlayType("application/vnd.apple.mpegurl")) {
      v.src = this.src;  // Safari / iOS: native HLS
      v.load();
    } else {
      v.dataset.error = "this browser cannot play HLS";
    }
  }

  get buffered(): boolean { return this.video.readyState >= 3 || this.video.buffered.length > 0; }

  play(): void {
    this.attach();
    if (this.hls) this.hls.config.maxBufferLength = 12;
    this.startedAt = performance.now();
    this.firstFrameMs = -1;
    this.lastWall = 0;
    const p = this.video.play();
    if (p) p.catch(() => {
      // Autoplay with sound refused: fall back to muted playback (tap to unmute).
      this.video.muted = true;
      this.video.play().catch(() => undefined);
    });
  }

  pause(): void { this.video.pause(); this.lastWall = 0; }

  private onTime(): void {
    const v = this.video;
    const now = performance.now();
    if (this.firstFrameMs < 0 && v.currentTime > 0 && !v.paused) {
      this.firstFrameMs = now - this.startedAt;
      v.dataset.startMs = String(Math.round(this.firstFrameMs));
    }
    if (v.currentTime + 0.5 < this.lastTime && this.lastTime > (v.duration || 0) - 1.5) this.loops++;
    if (this.lastWall && !v.paused) this.playedMs += Math.min(1000, now - this.lastWall);
    this.lastTime = v.currentTime;
    this.lastWall = v.paused ? 0 : now;
  }

  /** What was watched since the last report (then reset). */
  takeReport(fallbackDurationMs: number): WatchReport {
    const d = Number.isFinite(this.video.duration) && this.video.duration > 0
      ? Math.round(this.video.duration * 1000) : Math.max(1, fallbackDurationMs);
    const loops = this.loops;
    const watch = Math.min(Math.round(this.playedMs), d * (loops + 1));
    this.playedMs = 0;
    this.loops = 0;
    return { watch_ms: watch, duration_ms: d, loops };
  }

  destroy(): void {
    this.hls?.destroy();
    this.hls = null;
    this.attached = false;
    this.video.removeAttribute("src");
    this.video.load();
  }
}
