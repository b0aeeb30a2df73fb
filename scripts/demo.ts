/**
 * @module Two identities chatting from the terminal, against a running server (`npm start`).
 *
 *   npm run demo                       scripted: alice and bob talk, alice drops offline and
 *                                      catches up, and the transcript is printed
 *   npm run demo -- alice bob          interactive: you are alice, chatting with bob; type lines,
 *                                      `/offline` and `/online` toggle the network
 * SERVER_URL (default http://127.0.0.1:8787) and JWT_SECRET are read like the server reads them.
 */
import path from 'node:path';
import readline from 'node:readline/promises';
import WebSocket from 'ws';
import { type Conversation, createClient } from '../client/index.js';
import { leveldbStore } from '../client/store/leveldb.js';
import { signToken } from '../server/auth/identity.js';
import { DEV_JWT_SECRET } from '../server/config.js';
import type { MessageView } from '../shared/conversation.js';
import { asIdentityId } from '../shared/ids.js';

const url = process.env.SERVER_URL ?? 'http://127.0.0.1:8787';
const secret = process.env.JWT_SECRET ?? DEV_JWT_SECRET;
const WS = WebSocket as unknown as typeof globalThis.WebSocket;

async function connect(me: string, other: string, dir?: string) {
  const token = await signToken({ id: asIdentityId(me), type: 1 }, secret);
  const storage = dir ? await leveldbStore(dir) : undefined;
  const client = createClient({ url, token, WebSocket: WS, ...(storage ? { storage } : {}) });
  const conversation = await client.openPrivate(other);
  conversation.on('error', (error) => console.error(`[${me}] ${error.code}: ${error.message}`));
  return { client, conversation };
}

function line(m: MessageView): string {
  const mark = m.pending ? 'pending' : `#${m.stamp!.seq}`;
  return `${mark.padEnd(8)} ${m.sender}: ${m.content}`;
}

async function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`no answer from ${url} after ${ms} ms (${what}); is the server running?`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

const settled = (c: Conversation, n: number) =>
  new Promise<void>((resolve) => {
    const check = () => {
      if (c.messages().filter((m) => !m.pending).length >= n) resolve();
    };
    c.on('change', check);
    check();
  });

async function scripted() {
  const alice = await connect('alice', 'bob');
  const bob = await connect('bob', 'alice');
  await timeout(
    Promise.all([alice.conversation.whenSynced(), bob.conversation.whenSynced()]),
    5000,
    'sync',
  );
  const start = bob.conversation.messages().length;
  await alice.conversation.send({ content: 'hi bob, this is convosync' });
  await bob.conversation.send({ content: 'hi alice! every conversation is a Yjs document' });
  await timeout(settled(alice.conversation, start + 2), 5000, 'delivery');
  alice.client.goOffline();
  await alice.conversation.send({ content: 'I went offline and wrote this' });
  await alice.conversation.send({ content: 'and this' });
  console.log('alice (offline) sees:');
  for (const m of alice.conversation.messages().slice(start)) console.log(`  ${line(m)}`);
  alice.client.goOnline();
  await timeout(settled(bob.conversation, start + 4), 5000, 'delivery');
  console.log('bob sees, after alice is back online:');
  for (const m of bob.conversation.messages().slice(start)) console.log(`  ${line(m)}`);
  await alice.client.close();
  await bob.client.close();
}

async function interactive(me: string, other: string) {
  const { client, conversation } = await connect(me, other, path.join('data', 'demo', me));
  let shown = new Set<string>();
  const render = () => {
    for (const m of conversation.messages()) {
      const id = `${m.key}:${m.pending}`;
      if (shown.has(id)) continue;
      shown.add(id);
      if (m.sender !== me || !m.pending) console.log(line(m));
    }
  };
  conversation.on('change', render);
  conversation.on('status', (s) => console.log(`-- ${s}`));
  render();
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  for await (const input of rl) {
    const text = input.trim();
    if (text === '/offline') client.goOffline();
    else if (text === '/online') client.goOnline();
    else if (text === '/quit') break;
    else if (text)
      await conversation.send({ content: text }).catch((e: Error) => console.error(e.message));
  }
  shown = new Set();
  await client.close();
}

const [me, other] = process.argv.slice(2);
if (me && other) await interactive(me, other);
else await scripted();
process.exit(0);
