import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { StrictLeveldb } from './leveldb.js';

it('lets writes queued before close() finish on the open database, and refuses later ones', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'convosync-strict-'));
  const level = await StrictLeveldb.open(dir);
  // An app closing while its outbox is still being saved in the background.
  const queued = Array.from({ length: 20 }, (_, i) => level.persistence.setMeta('d', `k${i}`, i));
  const closing = level.close();
  await expect(level.persistence.setMeta('d', 'late', 1)).rejects.toThrow(/closed/);
  await expect(Promise.all(queued)).resolves.toHaveLength(20);
  await closing;
  const again = await StrictLeveldb.open(dir);
  expect(await again.persistence.getMeta('d', 'k19')).toBe(19);
  await again.close();
});
