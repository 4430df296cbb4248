// The HTTP API client: bearer token in localStorage (anonymous device user first), JSON calls, XHR uploads.

export const API = "/api/v1";
const TOKEN_KEY = "reel.token";
const SESSION_KEY = "reel.session";

export interface Session {
  token: string;
  user_id: string;
  role: string;
  anonymous: boolean;
  expires_at: number;
}

export interface Creator { id: string; name: string; avatar: string | null }
export interface Stats { plays: number; likes: number; comments: number; shares: number }
export interface VideoCard {
  video_id: string;
  creator: Creator;
  description: string;
  hashtags: string[];
  music: { id: string; title: string } | null;
  stats: Stats;
  hls_url: string | null;
  thumbnail_url: string | null;
  duration_sec: number;
  created_at: number;
  status?: string;
  reason?: string | null;
  request_id?: string;
  position?: number;
}
export interface PrefetchHint {
  video_id: string;
  playlist_url: string;
  master_url: string;
  first_segment_url: string | null;
}
export interface FeedPage {
  videos: VideoCard[];
  cursor: string | null;
  prefetch: PrefetchHint[];
  personalized: boolean;
  reason: string | null;
  user_state_version: number | null;
  request_id: string | null;
}

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
}

let current: Session | null = null;
const listeners: Array<(s: Session | null) => void> = [];

export function session(): Session | null {
  if (current) return current;
  const raw = localStorage.getItem(SESSION_KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (s.expires_at / 1000 > Date.now()) current = s;
  } catch { /* a stale entry: start again */ }
  return current;
}

export function onSession(fn: (s: Session | null) => void): void { listeners.push(fn); }

export function setSession(s: Session | null): void {
  current = s;
  if (s) {
    localStorage.setItem(SESSION_KEY, JSON.stringify(s));
    localStorage.setItem(TOKEN_KEY, s.token);
  } else {
    localStorage.removeItem(SESSION_KEY);
    localStorage.removeItem(TOKEN_KEY);
  }
  for (const fn of listeners) fn(s);
}

async function raw(method: string, path: string, body?: unknown, token?: string): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["Idempotency-Key"] = crypto.randomUUID();
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(path.startsWith("/") && !path.startsWith(API) ? API + path : path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), keepalive: method === "POST",
    });
    if ((r.status === 429 || r.status === 503) && attempt < 3) {
      const wait = Math.min(5, Number(r.headers.get("Retry-After") || "1"));
      await new Promise((ok) => setTimeout(ok, wait * 1000));
      continue;
    }
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (!r.ok) {
      const err = (data && data.error) || { code: "http_error", message: r.statusText };
      throw new ApiError(r.status, err.code, err.message);
    }
    return data;
  }
}

/** An anonymous device session, created on first use, so watching needs no account. */
export async function ensureSession(): Promise<Session> {
  const s = session();
  if (s) return s;
  const t = (await raw("POST", "/auth/anonymous", { region: guessRegion() })) as Session;
  setSession(t);
  return t;
}

export async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const s = await ensureSession();
  try {
    return (await raw(method, path, body, s.token)) as T;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {  // expired or from another server: start over
      setSession(null);
      const again = await ensureSession();
      return (await raw(method, path, body, again.token)) as T;
    }
    throw e;
  }
}

export const get = <T = any>(path: string) => call<T>("GET", path);
export const post = <T = any>(path: string, body?: unknown) => call<T>("POST", path, body);
export const del = <T = any>(path: string) => call<T>("DELETE", path);

export async function register(name: string, region: string, birthYear: number | null): Promise<Session> {
  const t = (await raw("POST", "/auth/register",
    { name, region, language: (navigator.language || "en").slice(0, 2), birth_year: birthYear })) as Session;
  setSession(t);
  return t;
}

/** Sign in with a token printed by `reel users create` (moderators, admins). */
export async function useToken(token: string): Promise<Session> {
  const me = (await raw("GET", "/auth/me", undefined, token)) as Session;
  const s = { ...me, token };
  setSession(s);
  return s;
}

export function guessRegion(): string {
  const m = /-([A-Z]{2})$/.exec(navigator.language || "");
  return m ? m[1] : "ZZ";
}

/** PUT a file to its upload URL with progress (fetch has no upload progress; XHR does). */
export function uploadFile(url: string, file: Blob, onProgress: (fraction: number) => void): Promise<unknown> {
  const s = session();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    if (s) xhr.setRequestHeader("Authorization", `Bearer ${s.token}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) { onProgress(1); resolve(JSON.parse(xhr.responseText || "null")); }
      else {
        let msg = xhr.statusText;
        try { msg = JSON.parse(xhr.responseText).error.message; } catch { /* not JSON */ }
        reject(new ApiError(xhr.status, "upload_failed", msg));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "the upload failed: network error"));
    xhr.send(file);
  });
}
