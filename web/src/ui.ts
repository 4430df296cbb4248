// Small DOM helpers: an element builder, toasts, number formatting, the bottom sheet.

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]):
  HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function fmt(n: number): string {
  if (n >= 1e6) return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1).replace(/\.0$/, "") + "K";
  return String(n);
}

export function ago(us: number): string {
  const s = Math.max(0, (Date.now() - us / 1000) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function toast(text: string): void {
  const el = h("div", { class: "toast", role: "status" }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 2500);
}

/** A bottom sheet over the page; returns its body and a close function. */
export function sheet(title: string): { body: HTMLElement; close: () => void } {
  const body = h("div", { class: "sheet-body" });
  const close = () => { back.remove(); };
  const back = h("div", { class: "sheet-back", onclick: (e: Event) => { if (e.target === back) close(); } },
    h("div", { class: "sheet", role: "dialog", "aria-label": title },
      h("div", { class: "sheet-head" }, h("b", {}, title),
        h("button", { class: "icon", "aria-label": "close", onclick: close }, "×")),
      body));
  document.body.append(back);
  return { body, close };
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
