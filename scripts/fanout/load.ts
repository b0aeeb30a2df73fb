/**
 * @module One load-generator process of bench:fanout (forked by scripts/bench-fanout.ts, so its
 * CPU is not the measured servers'). It holds real y-websocket clients, each member with its own
 * Y.Doc, writes messages the way the SDK writes them (composeMessage into the messages root) and
 * times each one at every other member's client. Commands and answers go over the IPC channel.
 */
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { asIdentityId, newMessageKey } from '../../shared/ids.js';
import { composeMessage } from '../../shared/message.js';
import { conversationRoots } from '../../shared/schema.js';
import type { Command, Member, Reply, RunResult } from './protocol.js';

interface Client {
  member: Member;
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Close codes this client's socket saw (the provider reconnects after each). */
  closes: number[];
}

interface Room {
  name: string;
  clients: Client[];
}

// Every WebsocketProvider listens for the process's exit.
process.setMaxListeners(0);

let url = '';
let rooms: Room[] = [];
let latencies: number[] = [];
let received = 0;

/**
 * Wall time in ms with sub-ms resolution, comparable across the load processes on one machine:
 * a message carries its send time, so any process that receives it can time it.
 */
const now = () => performance.timeOrigin + performance.now();
const sentAtOf = (content: string) => Number(content.slice(0, content.indexOf(' ')));

function connect(room: string, member: Member, doc = new Y.Doc(), connect = true): Client {
  const provider = new WebsocketProvider(member.url ?? url, room, doc, {
    connect,
    disableBc: true,
    params: member.token ? { token: member.token } : {},
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const client: Client = { member, doc, provider, closes: [] };
  provider.on('connection-close', (event: { code: number } | null) => {
    client.closes.push(event?.code ?? 0);
  });
  return client;
}

/**
 * Why deliveries are missing, when they are: per client that lacks messages some client of its
 * room in this process holds (the writer holds all it wrote), which ones (their send index),
 * whether it is connected, what closed its socket, and whether Yjs holds updates it cannot
 * integrate yet (a gap in some sender's clock before them).
 */
function diagnose(): string[] {
  const lines: string[] = [];
  for (const room of rooms) {
    const all = new Map<string, string>();
    for (const c of room.clients)
      for (const [key, message] of conversationRoots(c.doc).messages) all.set(key, message.content);
    const highest = Math.max(
      ...[...all.values()].map((m) => Number(m.split(' ')[2])).filter((i) => !Number.isNaN(i)),
    );
    lines.push(
      `${room.name.slice(0, 8)}: ${room.clients.length} clients here hold ${all.size} messages ` +
        `together (system notices too), up to #${highest}; ${received} deliveries counted`,
    );
    for (const c of room.clients) {
      const messages = conversationRoots(c.doc).messages;
      const pending = c.doc.store.pendingStructs;
      const missing = [...all].filter(([key]) => !messages.has(key));
      if (missing.length === 0 && !pending && c.closes.length === 0) continue;
      const indices = missing
        .map(([, content]) => Number(content.split(' ')[2]))
        .sort((x, y) => x - y);
      lines.push(
        `${room.name.slice(0, 8)} ${c.member.id}: lacks ${missing.length} of ${all.size} ` +
          `(#${indices.slice(0, 5).join(', #')}${indices.length > 5 ? ', …' : ''}; holds up to ` +
          `#${Math.max(...[...messages.values()].map((m) => Number(m.content.split(' ')[2])).filter((i) => !Number.isNaN(i)))}), ` +
          `${c.provider.wsconnected ? 'connected' : 'disconnected'}, ` +
          `${c.provider.synced ? 'synced' : 'not synced'}, closes [${c.closes.join(',')}]` +
          (pending ? `, pending structs from ${pending.missing.size} clients` : '') +
          (c.doc.store.pendingDs ? ', pending deletes' : ''),
      );
    }
  }
  return lines;
}

/** Counts every message that reaches `doc` from elsewhere. */
function observe(doc: Y.Doc): void {
  conversationRoots(doc).messages.observe((event) => {
    if (event.transaction.local) return;
    const t = now();
    const messages = event.target;
    for (const key of event.keysChanged) {
      const message = messages.get(key);
      if (!message || event.changes.keys.get(key)?.action !== 'add') continue;
      latencies.push(t - sentAtOf(message.content));
      received += 1;
    }
  });
}

const synced = (clients: Client[]) =>
  Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          if (c.provider.synced) return resolve();
          c.provider.on('sync', (s: boolean) => s && resolve());
          c.provider.on('connection-close', (event: { code: number; reason: string } | null) => {
            if (event && event.code >= 4000)
              reject(new Error(`closed ${event.code} ${event.reason}`));
          });
        }),
    ),
  );

const content = (i: number) =>
  `${now().toFixed(3)} message ${i} `.padEnd(120, 'lorem ipsum dolor sit amet ');

function write(client: Client, i: number): string {
  const message = composeMessage(
    { content: content(i) },
    { identity: asIdentityId(client.member.id), identityType: 1 },
    newMessageKey(),
    Date.now(),
  );
  conversationRoots(client.doc).messages.set(message.key, message);
  return message.key;
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = now() + ms;
  while (!check()) {
    if (now() > deadline) return false;
    await wait(2);
  }
  return true;
}

/**
 * Open loop: message i is due at i / rate seconds, whatever the server does meanwhile; each
 * message goes to the next room of this process, from its next client. Then waits until this
 * process's clients have received `expect` messages from others (the orchestrator knows how
 * many are due where: a room may have clients in several load processes).
 */
async function run(
  rate: number,
  seconds: number,
  drainMs: number,
  expect: number,
): Promise<RunResult> {
  latencies = [];
  received = 0;
  const total = Math.round(rate * seconds);
  let sent = 0;
  const start = now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const room = rooms[sent % rooms.length]!;
      const sender = room.clients[Math.floor(sent / rooms.length) % room.clients.length]!;
      write(sender, sent);
    }
    await wait(1);
  }
  const sendSeconds = (now() - start) / 1000;
  // A process that only receives (rate 0) sends nothing, so its drain starts when the run's
  // sending ends, not at once: else it gave up on the last messages as they were being sent
  // (the 500-member group lost a few of its last deliveries that way, in that process only).
  const sendingEnds = start + seconds * 1000;
  await until(() => received >= expect, Math.max(0, sendingEnds - now()) + drainMs);
  return {
    sent,
    expected: expect,
    received,
    sendSeconds,
    latencies,
    ...(received < expect ? { missing: diagnose() } : {}),
  };
}

/** One member writes `count` messages while offline, then connects: time until a peer has all. */
async function burst(room: string, writer: Member, reader: Member, count: number) {
  const readerClient = connect(room, reader);
  observe(readerClient.doc);
  await synced([readerClient]);
  const writerClient = connect(room, writer, new Y.Doc(), false);
  latencies = [];
  received = 0;
  writerClient.doc.transact(() => {
    for (let i = 0; i < count; i++) write(writerClient, i);
  });
  const start = now();
  writerClient.provider.connect();
  const ok = await until(() => received >= count, 30_000);
  const ms = now() - start;
  readerClient.provider.destroy();
  writerClient.provider.destroy();
  return { ms, ok, received };
}

/** A fresh client opens `room`: time until its document holds `count` messages. */
async function open(room: string, member: Member, count: number) {
  const start = now();
  const client = connect(room, member);
  const messages = conversationRoots(client.doc).messages;
  const ok = await until(() => client.provider.synced && messages.size >= count, 30_000);
  const ms = now() - start;
  client.provider.destroy();
  return { ms, ok, size: messages.size };
}

/** Writes `count` messages into `room` through one member, in transactions of `chunk`. */
async function fill(room: string, writer: Member, count: number, chunk: number) {
  const client = connect(room, writer);
  await synced([client]);
  const messages = conversationRoots(client.doc).messages;
  const stamps = conversationRoots(client.doc).stamps;
  const base = messages.size;
  for (let i = 0; i < count; i += chunk) {
    client.doc.transact(() => {
      for (let k = i; k < Math.min(count, i + chunk); k++) write(client, k);
    });
    await wait(5);
  }
  // Everything written is acknowledged: the reference echoes nothing, so wait for the server's
  // copy through a second client instead of the writer's own document.
  const check = connect(room, writer);
  const ok = await until(() => conversationRoots(check.doc).messages.size >= base + count, 60_000);
  check.provider.destroy();
  void stamps;
  return { ok, client };
}

let filled: Client | undefined;

async function handle(command: Command): Promise<Reply> {
  switch (command.type) {
    case 'setup': {
      url = command.url;
      rooms = command.rooms.map((r) => ({
        name: r.name,
        clients: r.members.map((m) => connect(r.name, m)),
      }));
      for (const room of rooms) for (const c of room.clients) observe(c.doc);
      await synced(rooms.flatMap((r) => r.clients));
      return { type: 'ready' };
    }
    case 'run':
      return {
        type: 'run',
        result: await run(command.rate, command.seconds, command.drainMs, command.expect),
      };
    case 'burst':
      return {
        type: 'timed',
        ...(await burst(command.room, command.writer, command.reader, command.count)),
      };
    case 'fill': {
      const { ok, client } = await fill(command.room, command.writer, command.count, 500);
      filled = client;
      return { type: 'timed', ms: 0, ok };
    }
    case 'unfill':
      filled?.provider.destroy();
      filled = undefined;
      return { type: 'timed', ms: 0, ok: true };
    case 'open':
      return { type: 'timed', ...(await open(command.room, command.member, command.count)) };
    case 'close':
      for (const room of rooms) for (const c of room.clients) c.provider.destroy();
      rooms = [];
      return { type: 'closed' };
  }
}

process.on('message', (command: Command) => {
  handle(command).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ type: 'error', message: String(error) } satisfies Reply),
  );
});
