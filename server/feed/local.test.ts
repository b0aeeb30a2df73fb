import { describe, expect, it } from 'vitest';
import type { DocName } from '../../shared/keys.js';
import { localFeed } from './local.js';
import type { Change } from './types.js';

const change = (doc: string): Change => ({
  doc: doc as DocName,
  update: new Uint8Array([0, 0]),
  origins: [{ source: 'server', reason: 'test' }],
  at: 1,
  messages: [],
  members: [],
  reads: [],
  profiles: [],
  notes: [],
});

describe('localFeed', () => {
  it('delivers each change to every subscriber in order, until it unsubscribes', () => {
    const feed = localFeed();
    const a: string[] = [];
    const b: string[] = [];
    const offA = feed.subscribe((c) => a.push(c.doc));
    feed.subscribe((c) => b.push(c.doc));
    feed.publish(change('one'));
    offA();
    feed.publish(change('two'));
    expect(a).toEqual(['one']);
    expect(b).toEqual(['one', 'two']);
  });

  it('reports a throwing subscriber and still delivers to the others', () => {
    const errors: Array<[unknown, string]> = [];
    const feed = localFeed((error, c) => errors.push([error, c.doc]));
    const seen: string[] = [];
    feed.subscribe(() => {
      throw new Error('boom');
    });
    feed.subscribe((c) => seen.push(c.doc));
    feed.publish(change('x'));
    expect(seen).toEqual(['x']);
    expect(errors.map(([e, d]) => [(e as Error).message, d])).toEqual([['boom', 'x']]);
  });

  it('keeps a change serializable: JSON round trip with the update as numbers', () => {
    const c = change('doc');
    const copy = JSON.parse(JSON.stringify({ ...c, update: [...c.update] }));
    expect({ ...copy, update: new Uint8Array(copy.update) }).toEqual(c);
  });
});
