/**
 * @module A tiny element builder: `h('button', { testid: 'x', onclick }, 'Send')`. The app has no
 * framework; views rebuild their own subtree when the SDK says something changed.
 */
export type Child = Node | string | number | false | null | undefined | Child[];
export type Props = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'testid') el.dataset.testid = String(value);
    else if (name === 'class') el.className = String(value);
    else if (name.startsWith('on') && typeof value === 'function')
      el.addEventListener(name.slice(2), value as EventListener);
    else if (name === 'value' || name === 'checked' || name === 'disabled')
      (el as unknown as Record<string, unknown>)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the content of `el` with `children`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A transient message at the bottom of the screen; `code` is the SDK/REST error code. */
export function toast(text: string, code = 'INFO'): void {
  const el = h('div', { testid: 'toast', class: 'toast', 'data-code': code }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 6000);
}

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
