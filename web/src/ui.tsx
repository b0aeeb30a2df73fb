/**
 * @module Shared UI pieces: the modal dialog (native <dialog>: focus trap and Escape for free),
 * the confirmation dialog, an accessible popup menu, toasts and the live region, and the people
 * picker (lookup as you type, never free text).
 */
import type { ComponentChildren, RefObject } from 'preact';
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { findPeople, type Person } from './api.js';
import { t } from './i18n.js';
import { announcement, confirmation, toasts, useLanguage, useStore } from './state.js';

export function Modal(props: {
  title: string;
  testid: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    const opener = document.activeElement as HTMLElement | null;
    return () => opener?.focus?.();
  }, []);
  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: a backdrop click; Escape (the cancel event) is its keyboard twin
    <dialog
      ref={ref}
      class={props.wide ? 'modal wide' : 'modal'}
      data-testid={props.testid}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
      onClick={(e) => {
        // A click on the backdrop (the dialog element itself) closes it.
        if (e.target === ref.current) props.onClose();
      }}
    >
      <div class="modal-body">
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
      </div>
    </dialog>
  );
}

export function ConfirmDialog() {
  useLanguage();
  const request = useStore(confirmation);
  const [option, setOption] = useState(false);
  useEffect(() => setOption(false), [request]);
  if (!request) return null;
  const answer = (ok: boolean) => request.resolve({ ok, option });
  return (
    <Modal title={request.title} testid="confirm-dialog" onClose={() => answer(false)}>
      {request.body ? <p>{request.body}</p> : null}
      {request.option ? (
        <label class="check">
          <input
            type="checkbox"
            data-testid="confirm-option"
            checked={option}
            onChange={(e) => setOption((e.target as HTMLInputElement).checked)}
          />
          {request.option}
        </label>
      ) : null}
      {request.option && request.optionHint ? <p class="hint">{request.optionHint}</p> : null}
      <div class="buttons">
        <button type="button" data-testid="confirm-cancel" onClick={() => answer(false)}>
          {t('cancel')}
        </button>
        <button
          type="button"
          data-testid="confirm-ok"
          class={request.danger ? 'danger' : 'primary'}
          onClick={() => answer(true)}
        >
          {request.confirm}
        </button>
      </div>
    </Modal>
  );
}

export function Toasts() {
  const list = useStore(toasts);
  // Two regions that always exist (a live region added with its text is often not read).
  return (
    <div class="toasts">
      <div role="alert" aria-atomic="false">
        {list
          .filter((item) => item.error)
          .map((item) => (
            <div key={item.id} class="toast error" data-testid="toast" data-code={item.code}>
              {item.text}
            </div>
          ))}
      </div>
      <div role="status" aria-atomic="false">
        {list
          .filter((item) => !item.error)
          .map((item) => (
            <div key={item.id} class="toast" data-testid="toast" data-code={item.code}>
              {item.text}
            </div>
          ))}
      </div>
    </div>
  );
}

/** Announces incoming messages to screen readers (visually hidden). */
export function LiveRegion() {
  const text = useStore(announcement);
  return (
    <div class="sr-only" aria-live="polite" data-testid="live-region">
      {text}
    </div>
  );
}

export interface MenuItem {
  label: string;
  testid: string;
  onSelect: () => void;
  danger?: boolean;
}

/**
 * A button that opens a menu of actions (WAI-ARIA menu button): Enter, Space or ArrowDown open
 * it on its first item; arrows move, Escape closes and returns to the button.
 */
export function MenuButton(props: {
  label: string;
  testid: string;
  items: MenuItem[];
  children: ComponentChildren;
  class?: string;
  tabIndex?: number;
  /** One of a group of buttons with a single tab stop (arrow keys move between them). */
  roving?: boolean;
  buttonRef?: RefObject<HTMLButtonElement>;
}) {
  const [open, setOpen] = useState(false);
  const [place, setPlace] = useState<{ top: number; left: number } | undefined>();
  const own = useRef<HTMLButtonElement>(null);
  const button = props.buttonRef ?? own;
  const menu = useRef<HTMLDivElement>(null);
  const menuId = useId();
  const close = (refocus = true) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };
  useLayoutEffect(() => {
    if (!open || !button.current || !menu.current) return;
    const rect = button.current.getBoundingClientRect();
    const height = menu.current.offsetHeight;
    const width = menu.current.offsetWidth;
    const below = rect.bottom + height + 4 < window.innerHeight;
    setPlace({
      top: below ? rect.bottom + 4 : Math.max(4, rect.top - height - 4),
      left: Math.max(4, Math.min(rect.right - width, window.innerWidth - width - 4)),
    });
    menu.current.querySelector<HTMLElement>('[role=menuitem]')?.focus();
  }, [open]);
  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node))
        close(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);
  const move = (e: KeyboardEvent) => {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const go = (i: number) => items[(i + items.length) % items.length]?.focus();
    if (e.key === 'ArrowDown') go(at + 1);
    else if (e.key === 'ArrowUp') go(at - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(items.length - 1);
    else if (e.key === 'Escape') close();
    else if (e.key === 'Tab') close(false);
    else return;
    if (e.key !== 'Tab') e.preventDefault();
    e.stopPropagation();
  };
  return (
    <>
      <button
        type="button"
        ref={button}
        class={props.class ?? 'icon'}
        data-testid={props.testid}
        aria-label={props.label}
        title={props.label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        tabIndex={props.tabIndex}
        data-roving={props.roving ? '' : undefined}
        onClick={(e) => {
          e.stopPropagation();
          setOpen(!open);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && !open) {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        {props.children}
      </button>
      {open ? (
        <div
          ref={menu}
          id={menuId}
          role="menu"
          class="menu"
          aria-label={props.label}
          style={
            place
              ? { top: `${place.top}px`, left: `${place.left}px` }
              : { top: '0px', left: '-9999px' }
          }
          onKeyDown={move}
        >
          {props.items.map((item) => (
            <button
              key={item.testid}
              type="button"
              role="menuitem"
              tabIndex={-1}
              data-testid={item.testid}
              class={item.danger ? 'danger' : undefined}
              onClick={(e) => {
                e.stopPropagation();
                close();
                item.onSelect();
              }}
            >
              {item.label}
            </button>
          ))}
        </div>
      ) : null}
    </>
  );
}

/**
 * Looks people up as the user types (GET /api/v1/people) and offers only identities that exist;
 * `onPick` gets the chosen one. Enter picks an exact match.
 */
export function PeoplePicker(props: {
  token: string;
  label: string;
  testid: string;
  exclude?: readonly string[];
  onPick: (person: Person) => void;
  submitLabel?: string;
}) {
  useLanguage();
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Person[] | undefined>();
  const [unavailable, setUnavailable] = useState(false);
  const inputId = useId();
  const listId = useId();
  useEffect(() => {
    const prefix = query.trim();
    if (!prefix) {
      setResults(undefined);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      findPeople(props.token, prefix).then(
        (list) => current && setResults(list),
        (error: { code?: string }) => {
          if (!current) return;
          setResults([]);
          if (error.code === 'NOT_FOUND') setUnavailable(true);
        },
      );
    }, 150);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query, props.token]);
  const shown = (results ?? []).filter((p) => !props.exclude?.includes(p.identity));
  const pick = (person: Person) => {
    props.onPick(person);
    setQuery('');
    setResults(undefined);
  };
  const exact = () => shown.find((p) => p.identity === query.trim());
  return (
    <div class="picker">
      <label for={inputId}>{props.label}</label>
      <div class="row">
        <input
          id={inputId}
          data-testid={props.testid}
          value={query}
          autocomplete="off"
          aria-describedby={listId}
          onInput={(e) => setQuery((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key !== 'Enter') return;
            e.preventDefault();
            const match = exact() ?? (shown.length === 1 ? shown[0] : undefined);
            if (match) pick(match);
          }}
        />
        {props.submitLabel ? (
          <button
            type="button"
            data-testid={`${props.testid}-submit`}
            disabled={!exact() && shown.length !== 1}
            onClick={() => {
              const match = exact() ?? shown[0];
              if (match) pick(match);
            }}
          >
            {props.submitLabel}
          </button>
        ) : null}
      </div>
      <div id={listId} class="people" aria-live="polite">
        {unavailable ? (
          <p class="hint">{t('peopleUnavailable')}</p>
        ) : results !== undefined && shown.length === 0 ? (
          <p class="hint" data-testid="people-none">
            {t('noPeople')}
          </p>
        ) : (
          <ul>
            {shown.map((person) => (
              <li key={person.identity}>
                <button
                  type="button"
                  class="person"
                  data-testid="people-result"
                  data-identity={person.identity}
                  onClick={() => pick(person)}
                >
                  <span class="avatar" aria-hidden="true">
                    {(person.nickname ?? person.identity).slice(0, 1).toUpperCase()}
                  </span>
                  {person.nickname ? `${person.nickname} (${person.identity})` : person.identity}
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
