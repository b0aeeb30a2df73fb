/**
 * @module What the cluster tests need from the machine: the real Postgres (DATABASE_URL) and
 * Redis (REDIS_URL). Without them those tests are skipped, named so the skip says why; `.ci/run`
 * sets both for its second phase. `npm test` on a fresh machine needs neither.
 */
export const DATABASE_URL = process.env.DATABASE_URL;
export const REDIS_URL = process.env.REDIS_URL;

/** Appended to a describe title: what a skipped run lacked. */
export const needs = (...names: Array<'DATABASE_URL' | 'REDIS_URL'>): string => {
  const missing = names.filter((n) => !process.env[n]);
  return missing.length === 0 ? '' : ` (skipped: set ${missing.join(' and ')})`;
};

export const hasEnv = (...names: Array<'DATABASE_URL' | 'REDIS_URL'>): boolean =>
  names.every((n) => Boolean(process.env[n]));

/** REDIS_URL on logical database `db`: a test that wipes Redis (FLUSHDB) wipes only its own. */
export const redisUrlOn = (db: number): string => {
  const url = new URL(REDIS_URL!);
  url.pathname = `/${db}`;
  return url.toString();
};
