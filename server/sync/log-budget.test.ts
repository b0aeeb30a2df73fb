import { expect, it } from 'vitest';
import { LogBudget } from './log-budget.js';

it('lets perWindow lines through per key and window, then reports the skipped count', () => {
  let now = 0;
  const budget = new LogBudget(2, 1000, () => now);
  expect(budget.take('A')).toEqual({ ok: true, skipped: 0 });
  expect(budget.take('A')).toEqual({ ok: true, skipped: 0 });
  expect(budget.take('A')).toEqual({ ok: false });
  expect(budget.take('A')).toEqual({ ok: false });
  expect(budget.take('B')).toEqual({ ok: true, skipped: 0 });
  now = 1000;
  expect(budget.take('A')).toEqual({ ok: true, skipped: 2 });
  expect(budget.take('A')).toEqual({ ok: true, skipped: 0 });
});
