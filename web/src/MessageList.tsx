/**
 * @module The virtualized message list: only the rows near the viewport are in the DOM (about
 * 20 of them however long the chat is), each absolutely placed at its offset. Row heights are
 * measured as rows render (a ResizeObserver catches images that load later); unmeasured rows
 * count at an estimate.
 *
 * Reading position is an anchor: either "the bottom" (follow new messages) or a row and its
 * distance from the viewport's top. After every change (new messages, older ones loaded above,
 * a row that grew) the scroll position is recomputed from the anchor, so the row the user is
 * reading stays exactly where it was. Scrolling moves the anchor; reaching the bottom makes it
 * "the bottom" again.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';

export interface ListRow {
  key: string;
  kind: 'day' | 'unread' | 'message';
}

export type Anchor = { key: string; delta: number } | 'bottom';

export interface ScrollState {
  atBottom: boolean;
  /** Within a screen of the top of what is loaded (time to load older messages). */
  nearTop: boolean;
  /** Keys of the rows at least partly visible. */
  visible: string[];
}

const ESTIMATE = { day: 40, unread: 40, message: 64 } as const;
/** Rendered beyond the viewport, above and below (px). */
const OVERSCAN = 240;
const PAD = 8;

export function MessageList<R extends ListRow>(props: {
  rows: readonly R[];
  renderRow: (row: R) => ComponentChildren;
  /** Where to start; read once, on mount. */
  initial: Anchor;
  /** A new value moves the view to `anchor` (e.g. "the bottom" after sending, a focused row). */
  jump?: { anchor: Anchor; seq: number };
  onScroll: (state: ScrollState) => void;
  /** The key of a row whose first focusable element should get the focus after rendering. */
  focusRow?: { key: string; seq: number };
  onKeyDown?: (e: KeyboardEvent) => void;
  label: string;
}) {
  const { rows } = props;
  const scroller = useRef<HTMLElement>(null);
  const spacer = useRef<HTMLUListElement>(null);
  const heights = useRef(new Map<string, number>());
  const anchor = useRef<Anchor>(props.initial);
  const [view, setView] = useState({ top: 0, height: 800 });
  const [, remeasure] = useReducer((n: number) => n + 1, 0);
  const observer = useRef<ResizeObserver | undefined>(undefined);
  const reported = useRef('');
  /** The scroll position this list last placed or saw (to notice a scroll not yet handled). */
  const applied = useRef<number | undefined>(undefined);

  const offsetsOf = () => {
    const offsets = new Array<number>(rows.length + 1);
    offsets[0] = PAD;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      offsets[i + 1] = offsets[i]! + (heights.current.get(row.key) ?? ESTIMATE[row.kind]);
    }
    return offsets;
  };
  const offsets = offsetsOf();
  const total = offsets[rows.length]! + PAD;
  const first = Math.max(0, upperBound(offsets, view.top - OVERSCAN) - 1);
  const last = Math.min(rows.length, upperBound(offsets, view.top + view.height + OVERSCAN));
  const shown = rows.slice(first, last);

  if (props.jump && jumpSeen.get(scroller) !== props.jump.seq) {
    jumpSeen.set(scroller, props.jump.seq);
    anchor.current = props.jump.anchor;
  }

  useEffect(() => {
    observer.current = new ResizeObserver(() => remeasure(0));
    const el = scroller.current!;
    observer.current.observe(el);
    return () => observer.current?.disconnect();
  }, []);

  const report = (el: HTMLElement, current: number[]) => {
    const top = el.scrollTop;
    const atBottom = top + el.clientHeight >= el.scrollHeight - 4;
    const visible: string[] = [];
    for (let i = 0; i < rows.length; i++) {
      if (current[i + 1]! <= top) continue;
      if (current[i]! >= top + el.clientHeight) break;
      visible.push(rows[i]!.key);
    }
    const state = { atBottom, nearTop: top < el.clientHeight, visible };
    const signature = `${atBottom}|${state.nearTop}|${visible.join(',')}`;
    if (signature === reported.current) return;
    reported.current = signature;
    props.onScroll(state);
  };

  /** Sets the anchor from where the list is scrolled now. */
  const anchorAt = (el: HTMLElement, current: number[]) => {
    const top = el.scrollTop;
    applied.current = top;
    if (top + el.clientHeight >= el.scrollHeight - 4) {
      anchor.current = 'bottom';
      return;
    }
    // The first message at least partly on screen (a date line is not a stable anchor: older
    // messages of the same day move it up).
    let index = Math.max(0, upperBound(current, top) - 1);
    while (index < rows.length - 1 && rows[index]!.kind !== 'message') index += 1;
    const row = rows[index];
    if (row) anchor.current = { key: row.key, delta: current[index]! - top };
  };

  useLayoutEffect(() => {
    const el = scroller.current!;
    // Scrolled by the user since the last placement, but the scroll event is not handled yet:
    // that position wins over the old anchor.
    if (applied.current !== undefined && Math.abs(el.scrollTop - applied.current) > 1)
      anchorAt(el, offsets);
    // Measure what is rendered.
    let changed = false;
    for (const child of el.querySelectorAll<HTMLElement>('[data-row]')) {
      const key = child.dataset.row!;
      const height = child.offsetHeight;
      if (heights.current.get(key) !== height) {
        heights.current.set(key, height);
        changed = true;
      }
      observer.current?.observe(child);
    }
    const current = changed ? offsetsOf() : offsets;
    const height = current[rows.length]! + PAD;
    spacer.current!.style.height = `${height}px`;
    // Put the anchor back where it was.
    const a = anchor.current;
    let target = el.scrollTop;
    if (a === 'bottom') target = Math.max(0, height - el.clientHeight);
    else {
      const index = rows.findIndex((r) => r.key === a.key);
      if (index >= 0) target = current[index]! - a.delta;
    }
    target = Math.max(0, Math.min(target, height - el.clientHeight));
    if (Math.abs(el.scrollTop - target) > 1) el.scrollTop = target;
    const top = el.scrollTop;
    applied.current = top;
    if (changed || Math.abs(top - view.top) > 1 || el.clientHeight !== view.height)
      setView({ top, height: el.clientHeight });
    if (props.focusRow && focusSeen.get(scroller) !== props.focusRow.seq) {
      const row = el.querySelector<HTMLElement>(`[data-row="${props.focusRow.key}"]`);
      const target = row?.querySelector<HTMLElement>('[data-roving]');
      if (target) {
        focusSeen.set(scroller, props.focusRow.seq);
        target.focus({ preventScroll: true });
      }
    }
    report(el, current);
  });

  const onScroll = () => {
    const el = scroller.current!;
    const top = el.scrollTop;
    const current = offsetsOf();
    anchorAt(el, current);
    if (Math.abs(top - view.top) > 1 || el.clientHeight !== view.height)
      setView({ top, height: el.clientHeight });
    report(el, current);
  };

  return (
    <section
      ref={scroller}
      class="messages"
      data-testid="message-list"
      aria-label={props.label}
      onScroll={onScroll}
      onKeyDown={props.onKeyDown}
    >
      <ul ref={spacer} class="rows" style={{ height: `${total}px` }}>
        {shown.map((row, i) => (
          <li
            key={row.key}
            data-row={row.key}
            class={`mrow ${row.kind}`}
            style={{ top: `${offsets[first + i]}px` }}
          >
            {props.renderRow(row)}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Requests already applied, per list (a list applies each jump and focus once). */
const jumpSeen = new WeakMap<object, number>();
const focusSeen = new WeakMap<object, number>();

/** The first index whose offset is greater than `value`. */
function upperBound(offsets: readonly number[], value: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
