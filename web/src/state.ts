/**
 * @module Small app-wide state outside the component tree: toasts, the confirmation dialog, and
 * the screen-reader announcements; plus the hooks that re-render a component when an SDK object
 * (an Emitter) or the language changes.
 */
import { useEffect, useReducer } from 'preact/hooks';
import { errorText, onLanguage } from './i18n.js';

type Listener = () => void;

/** A value with subscribers: what the components below read with `useStore`. */
export class Store<T> {
  private readonly listeners = new Set<Listener>();
  constructor(private current: T) {}
  get value(): T {
    return this.current;
  }
  set(next: T): void {
    this.current = next;
    for (const listener of this.listeners) listener();
  }
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function useStore<T>(store: Store<T>): T {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => store.subscribe(() => bump(0)), [store]);
  return store.value;
}

/** Re-renders on every language switch. */
export function useLanguage(): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => onLanguage(() => bump(0)), []);
}

/** Re-renders (once per animation frame at most) whenever `subscribe`'s source fires. */
export function useSubscription(subscribe: (notify: () => void) => () => void, deps: unknown[]) {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    let frame = 0;
    const off = subscribe(() => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        bump(0);
      });
    });
    return () => {
      off();
      cancelAnimationFrame(frame);
    };
  }, deps);
}

// Toasts ------------------------------------------------------------------------------------

export interface Toast {
  id: number;
  text: string;
  /** The error code, kept for support (data-code); 'INFO' for plain notices. */
  code: string;
  error: boolean;
}

export const toasts = new Store<Toast[]>([]);
let nextToast = 1;
const recent = new Map<string, number>();

/** Shows a notice for 6 s; the same text within 3 s shows once (two errors, one cause). */
export function toast(text: string, code = 'INFO'): void {
  const now = Date.now();
  if ((recent.get(text) ?? 0) > now - 3000) return;
  recent.set(text, now);
  const item: Toast = { id: nextToast++, text, code, error: code !== 'INFO' };
  toasts.set([...toasts.value.slice(-3), item]);
  setTimeout(() => toasts.set(toasts.value.filter((t) => t.id !== item.id)), 6000);
}

/** Shows an error as the sentence for its code (never its internal message or ids). */
export function toastError(error: { code?: string }): void {
  toast(errorText(error.code), error.code ?? 'INTERNAL');
}

/** Runs an action and shows its error. */
export function guard(action: () => Promise<unknown>): void {
  action().catch((error: { code?: string }) => toastError(error));
}

// Confirmation ----------------------------------------------------------------------------

export interface ConfirmRequest {
  title: string;
  body?: string;
  confirm: string;
  danger?: boolean;
  /** An optional checkbox (e.g. "also delete local data"); its state is passed to resolve. */
  option?: string;
  optionHint?: string;
  resolve: (answer: { ok: boolean; option: boolean }) => void;
}

export const confirmation = new Store<ConfirmRequest | undefined>(undefined);

/** Asks before a destructive action; resolves true when confirmed. */
export function confirmAction(request: Omit<ConfirmRequest, 'resolve'>): Promise<boolean> {
  return ask(request).then((answer) => answer.ok);
}

export function ask(
  request: Omit<ConfirmRequest, 'resolve'>,
): Promise<{ ok: boolean; option: boolean }> {
  return new Promise((resolve) => {
    confirmation.value?.resolve({ ok: false, option: false });
    confirmation.set({
      ...request,
      resolve: (answer) => {
        confirmation.set(undefined);
        resolve(answer);
      },
    });
  });
}

// Screen-reader announcements --------------------------------------------------------------

export const announcement = new Store<string>('');

/** Read out by the polite live region (incoming messages). */
export function announce(text: string): void {
  // Cleared first, so the same sentence twice is read twice.
  announcement.set('');
  requestAnimationFrame(() => announcement.set(text));
}
