import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { GroupCommit, type WriteOp } from './group-commit.js';

let db: ClassicLevel<Uint8Array, Uint8Array>;
beforeEach(async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'convosync-gc-'));
  db = new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
});
afterEach(async () => {
  await db.close();
});

const put = (k: string, v = k): WriteOp => ({
  type: 'put',
  key: Buffer.from(k),
  value: Buffer.from(v),
});
const batch = async (writes: WriteOp[][]) => {
  await db.batch(writes.flat() as never);
  return undefined;
};
const read = async (k: string) => Buffer.from(await db.get(Buffer.from(k))).toString();

it('writes what is asked in one turn as one batch, and resolves each write after it', async () => {
  const batches: number[] = [];
  const writer = new GroupCommit(batch, ({ writes }) => batches.push(writes));
  const resolved: string[] = [];
  const writes = Array.from({ length: 50 }, (_, i) =>
    writer.write([put(`k${i}`)]).then(async () => resolved.push(await read(`k${i}`))),
  );
  await Promise.all(writes);
  expect(batches).toEqual([50]);
  expect(resolved).toHaveLength(50); // each one read its own key back once resolved
});

it('collects what arrives while a batch is in flight into the next one', async () => {
  const batches: number[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let first = true;
  const writer = new GroupCommit(
    async (writes: WriteOp[][]) => {
      if (first) {
        first = false;
        await held;
      }
      return batch(writes);
    },
    ({ writes }) => batches.push(writes),
  );
  const a = writer.write([put('a')]);
  await new Promise((r) => setImmediate(r)); // the first batch is in flight, held
  const rest = [writer.write([put('b')]), writer.write([put('c')])];
  await new Promise((r) => setImmediate(r));
  expect(batches).toEqual([]);
  release();
  await Promise.all([a, ...rest]);
  expect(batches).toEqual([1, 2]);
  expect(await read('c')).toBe('c');
});

it('rejects every write of a failed batch, and the next batch still works', async () => {
  let fail = true;
  const writer = new GroupCommit(async (writes: WriteOp[][]) => {
    if (fail) throw new Error('disk on fire');
    return batch(writes);
  });
  const failed = await Promise.allSettled([writer.write([put('x')]), writer.write([put('y')])]);
  expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  await expect(db.get(Buffer.from('x'))).rejects.toMatchObject({ code: 'LEVEL_NOT_FOUND' });
  fail = false;
  await writer.write([put('z')]);
  expect(await read('z')).toBe('z');
});

it('refuses the writes a batch refuses alone, and resolves the others', async () => {
  const writer = new GroupCommit(async (writes: string[]) =>
    writes.map((w) => (w.startsWith('taken') ? new Error(`${w} is taken`) : undefined)),
  );
  const results = await Promise.allSettled(['a', 'taken-b', 'c'].map((w) => writer.write(w)));
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason.message).toBe('taken-b is taken');
});

it('fails the batch of a commit that throws at once, and goes on', async () => {
  let fail = true;
  const writer = new GroupCommit((writes: string[]) => {
    if (fail) throw new Error('bad batch');
    return Promise.resolve(writes.map(() => undefined));
  });
  await expect(writer.write('x')).rejects.toThrow('bad batch');
  fail = false;
  await expect(writer.write('y')).resolves.toBeUndefined();
});

it('sends the next batch beside one that is held, up to maxInFlight', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const writer = new GroupCommit(
    async (writes: string[]) => {
      if (writes.includes('held')) await held;
      return undefined;
    },
    undefined,
    2,
  );
  let heldDone = false;
  const first = writer.write('held').then(() => (heldDone = true));
  await new Promise((r) => setImmediate(r)); // the first batch is in flight, held
  await writer.write('next'); // a second batch, beside it
  expect(heldDone).toBe(false);
  release();
  await first;
  await writer.settled();
});

it('settles every write of a batch even when the batch callback throws', async () => {
  const writer = new GroupCommit<number>(
    async () => undefined,
    () => {
      throw new Error('metrics broke');
    },
  );
  await expect(Promise.all([writer.write(1), writer.write(2)])).resolves.toEqual([
    undefined,
    undefined,
  ]);
  await expect(writer.write(3)).resolves.toBeUndefined(); // and the next batch still goes
});
