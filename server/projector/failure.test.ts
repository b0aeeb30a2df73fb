/**
 * Which projection failures stop the whole projector (the database is unreachable) and which
 * only set their document aside (Postgres refused its rows): issue 12 item 1.
 */
import { expect, it } from 'vitest';
import { databaseDown } from './projector.js';

it('tells an unreachable database from rows Postgres refuses', () => {
  const coded = (code: string) => Object.assign(new Error(code), { code });
  for (const code of [
    'ECONNREFUSED',
    'ECONNRESET',
    'CONNECTION_CLOSED',
    'CONNECT_TIMEOUT',
    '08006',
    '57P01',
    '53300',
  ])
    expect(databaseDown(coded(code))).toBe(true);
  // 22021 NUL in text, 22003 INT out of range, 22P05 JSONB escape, 23505 unique violation.
  for (const code of ['22021', '22003', '22P05', '23505', 'STORAGE_UNAVAILABLE'])
    expect(databaseDown(coded(code))).toBe(false);
  expect(databaseDown(new TypeError('a bug building one document’s rows'))).toBe(false);
});
