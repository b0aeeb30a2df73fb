/**
 * @module The one way convosync opens an embedded PGlite: with the extensions its migrations
 * use. PGlite loads an extension's code only if it is passed here; a database whose migration
 * created a trigram index cannot write that table without it.
 */
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

export function openPglite(dir: string): Promise<PGlite> {
  return PGlite.create(dir, { extensions: { pg_trgm } });
}
