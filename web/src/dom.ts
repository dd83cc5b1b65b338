/**
 * The only way this app builds DOM: elements with text children. Strings always become text
 * nodes (never HTML), because answers and document text are untrusted.
 */
export type Child = Node | string | number | null | undefined | false;

interface Props {
  class?: string;
  /** Attributes set with setAttribute; values are plain strings, never markup. */
  attrs?: Record<string, string | undefined>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) {
    el.className = props.class;
  }
  for (const [k, v] of Object.entries(props.attrs ?? {})) {
    if (v !== undefined) {
      el.setAttribute(k, v);
    }
  }
  for (const [k, fn] of Object.entries(props.on ?? {})) {
    el.addEventListener(k, fn as EventListener);
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) {
      continue;
    }
    el.append(typeof c === "number" ? String(c) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

export const fmtNum = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined ? "–" : v.toFixed(digits);

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) {
    return "–";
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  if (ms < 120_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  if (ms < 7_200_000) {
    return `${Math.round(ms / 60_000)} min`;
  }
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) {
    return "never";
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
