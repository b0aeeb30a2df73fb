import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { leveldbStore } from './leveldb.js';
import { runClientStoreSuite } from './store.case.js';

runClientStoreSuite('leveldb', async () => {
  const location = path.join(
    await fs.mkdtemp(path.join(os.tmpdir(), 'convosync-client-')),
    'local',
  );
  return { store: await leveldbStore(location), reopen: () => leveldbStore(location) };
});
