/**
 * @module A budget for log lines a client can cause at will (closes for malformed frames, refused
 * writes): at most `perWindow` lines per key per window. Past that, lines are counted, and the
 * next line let through says how many were skipped, so a flood costs one line per window instead
 * of one per frame, and nothing is hidden.
 */
export class LogBudget {
  private readonly windows = new Map<string, { start: number; used: number; skipped: number }>();

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a line for `key` may be written now; with the count skipped since the last one. */
  take(key: string): { ok: true; skipped: number } | { ok: false } {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || now - window.start >= this.windowMs) {
      const skipped = window?.skipped ?? 0;
      if (this.windows.size > 1000) this.windows.clear(); // keys are codes: this never grows large
      window = { start: now, used: 0, skipped };
      this.windows.set(key, window);
    }
    if (window.used >= this.perWindow) {
      window.skipped += 1;
      return { ok: false };
    }
    window.used += 1;
    const skipped = window.skipped;
    window.skipped = 0;
    return { ok: true, skipped };
  }
}
