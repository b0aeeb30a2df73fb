import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConversationKey } from '../../shared/keys.js';
import type { Sha256 } from './blob-store.js';
import { diskFileRefs } from './disk-refs.js';
import { hash, record, runFileRefsSuite } from './refs.case.js';

const dir = async () => fs.mkdtemp(path.join(os.tmpdir(), 'convosync-refs-'));

runFileRefsSuite('disk', async () => diskFileRefs(await dir()));

describe('FileRefs: disk specifics', () => {
  it('writes nothing outside its directory for keys and hashes that would leave it', async () => {
    const root = await dir();
    const refs = await diskFileRefs(root);
    await expect(refs.find('../../etc' as ConversationKey, hash('x'))).rejects.toThrow();
    await expect(
      refs.find(record().conversationKey, '../../../passwd' as Sha256),
    ).rejects.toThrow();
    await expect(
      refs.add(record({ conversationKey: 'private_a_b/../../x' as ConversationKey })),
    ).rejects.toThrow();
    expect(await fs.readdir(root)).toEqual([]);
  });
});
