/**
 * Randomized convergence of offline intents (issue 11), with fast-check: four identities on six
 * devices (SDK clients with their own stores) act on a group, a private chat and a group created
 * offline mid-run, going offline and online, restarting the app, while the server restarts
 * once in a while. Actions are random, so many are invalid (refused at once by the SDK's rules,
 * or later by the server). At the end, every device online, it checks:
 * - nothing is pending, and every recorded intent settled exactly once (accepted, refused or
 *   superseded); every accepted message is in the log, no refused one is;
 * - every replica that may read a conversation, a fresh client too, equals the server's;
 * - seq is gapless and unique;
 * - the rules hold: one active owner per group, no message from a non-member (the log replayed
 *   with its own system notes), recalls stamped, read positions within the log.
 *
 * `npm test` runs a short search; `npm run fuzz:intents` a long one (FUZZ_RUNS, FUZZ_STEPS).
 * A failure prints fast-check's seed and path, shrunk to a small case; FUZZ_SEED (and
 * FUZZ_PATH) replay it, FUZZ_CASE='[…steps…]' runs a printed case first. Network timing is real, so a replay is close to, not exactly, the run.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Client, type Conversation, ConvosyncError } from '../../client/index.js';
import type { Intent } from '../../client/intents.js';
import type { Outcome } from '../../client/outbox.js';
import { memoryStore } from '../../client/store/memory.js';
import type { ClientStore } from '../../client/store/types.js';
import { listMessages } from '../../shared/conversation.js';
import { MemberRole, MemberStatus } from '../../shared/enums.js';
import { asIdentityId, type MessageKey } from '../../shared/ids.js';
import { privateKey } from '../../shared/keys.js';
import { conversationRoots, type Member } from '../../shared/schema.js';
import { startTestServer, type TestServer, tempDir, token, waitFor } from '../helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const STEPS = Number(process.env.FUZZ_STEPS ?? 80);
// About 2 s per run of 150 steps on this 2-core machine; generous so that no run is cut off.
const TIMEOUT_MS = Number(
  process.env.FUZZ_TIMEOUT_MS ?? Math.max(600_000, RUNS * (STEPS / 150) * 6_000),
);
// npm test's short search reports a failure within 2 minutes; a long run uses its whole timeout.
const SHRINK_MS = RUNS <= 40 ? 120_000 : TIMEOUT_MS - 30_000;
const PEOPLE = ['alice', 'bob', 'carol', 'dave'] as const;
type Who = (typeof PEOPLE)[number];
const DEVICES: readonly Who[] = ['alice', 'alice', 'bob', 'bob', 'carol', 'dave'];
const GROUP_MEMBERS: readonly Who[] = ['bob', 'carol'];

const device = fc.integer({ min: 0, max: DEVICES.length - 1 });
const person = fc.constantFrom(...PEOPLE);
/** 0: the group, 1: the private chat of alice and bob, 2: the group created offline (or 0). */
const conv = fc.integer({ min: 0, max: 2 });
const groupIndex = fc.constantFrom(0, 2);

type Step =
  | { t: 'send'; d: number; c: number; text: string }
  | { t: 'recall'; d: number; c: number; pick: number }
  | { t: 'read'; d: number; c: number }
  | { t: 'invite'; d: number; g: number; who: Who; admin: boolean }
  | { t: 'remove'; d: number; g: number; who: Who }
  | { t: 'exit'; d: number; g: number }
  | { t: 'role'; d: number; g: number; who: Who; admin: boolean }
  | { t: 'transfer'; d: number; g: number; who: Who }
  | { t: 'mute'; d: number; g: number; who: Who; on: boolean }
  | { t: 'rename'; d: number; g: number; name: string }
  | { t: 'create'; d: number; members: Who[] }
  | { t: 'offline'; d: number }
  | { t: 'online'; d: number }
  | { t: 'restart'; d: number }
  | { t: 'serverRestart' }
  | { t: 'pause'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('send' as const),
      d: device,
      c: conv,
      text: fc.constantFrom('hi', 'ok', 'bye', '好'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('recall' as const),
      d: device,
      c: conv,
      pick: fc.nat(9),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), d: device, c: conv }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('invite' as const),
      d: device,
      g: groupIndex,
      who: person,
      admin: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('remove' as const),
      d: device,
      g: groupIndex,
      who: person,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('exit' as const), d: device, g: groupIndex }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('role' as const),
      d: device,
      g: groupIndex,
      who: person,
      admin: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('transfer' as const),
      d: device,
      g: groupIndex,
      who: person,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('mute' as const),
      d: device,
      g: groupIndex,
      who: person,
      on: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('rename' as const),
      d: device,
      g: groupIndex,
      name: fc.constantFrom('a', 'b', 'c'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('create' as const),
      d: device,
      members: fc.subarray([...PEOPLE]),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('offline' as const), d: device }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('online' as const), d: device }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const), d: device }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('serverRestart' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 60 }) }),
  },
);

interface Device {
  who: Who;
  store: ClientStore;
  client: Client;
  online: boolean;
}

/** Everything one run records, to judge at the end. */
interface Ledger {
  /** Intent ids recorded (they left `act` without throwing), with their kind. */
  recorded: Map<string, string>;
  /** Outcomes reported, per intent id. */
  outcomes: Map<string, Outcome[]>;
  /** Sent message key -> its conversation, to check its outcome against the log. */
  sends: Map<string, string>;
  /** How each send was settled (device, event order), for failure messages. */
  trace: Map<string, string>;
  /** Group key -> its creator's initial members (the creator included). */
  groups: Map<string, Who[]>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

class World {
  ts!: TestServer;
  port = 0;
  dataDir = '';
  devices: Device[] = [];
  listened = new WeakSet<Conversation>();
  readonly ledger: Ledger = {
    recorded: new Map(),
    outcomes: new Map(),
    sends: new Map(),
    groups: new Map(),
    trace: new Map(),
  };
  keys: string[] = [];

  async start(): Promise<void> {
    this.dataDir = await tempDir('convosync-fuzz-');
    this.ts = await startTestServer({ dataDir: this.dataDir });
    this.port = this.ts.server.port;
    cleanups.push(() => this.ts.close());
    for (const who of DEVICES) {
      const store = memoryStore();
      this.devices.push({
        who,
        store,
        client: await this.newClient(who, store, true),
        online: true,
      });
    }
    cleanups.push(async () => {
      for (const d of this.devices) await d.client.close().catch(() => undefined);
    });
    const owner = this.devices[0]!;
    const group = await owner.client.createGroup({
      name: 'team',
      members: GROUP_MEMBERS.map((m) => ({ identity: m, identityType: 1 })),
    });
    this.ledger.groups.set(group.key, ['alice', ...GROUP_MEMBERS]);
    this.keys = [group.key, privateKey(asIdentityId('alice'), asIdentityId('bob'))];
    this.listen(group);
    await waitFor(() => group.pendingIntents().length === 0, 10_000, 'group created');
  }

  async newClient(who: Who, store: ClientStore, online: boolean): Promise<Client> {
    const { createClient } = await import('../../client/index.js');
    return createClient({
      url: `http://127.0.0.1:${this.port}`,
      token: await token(who),
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      storage: store,
      offline: !online,
      maxBackoffMs: 100,
    });
  }

  listen(c: Conversation): void {
    if (this.listened.has(c)) return;
    this.listened.add(c);
    c.on('intent', (intent: Intent, outcome: Outcome) => {
      this.ledger.trace.set(
        intent.id,
        `${this.ledger.trace.get(intent.id) ?? ''} ${outcome.status}@${c.key.slice(0, 14)}`,
      );
      const list = this.ledger.outcomes.get(intent.id) ?? [];
      list.push(outcome);
      this.ledger.outcomes.set(intent.id, list);
      if (!this.ledger.recorded.has(intent.id)) this.ledger.recorded.set(intent.id, intent.kind);
    });
  }

  async open(d: Device, key: string): Promise<Conversation> {
    const c = await d.client.open(key);
    this.listen(c);
    const map = this.opened.get(d) ?? new Map<string, Conversation>();
    map.set(key, c);
    this.opened.set(d, map);
    return c;
  }

  /** Runs one action on a device's conversation, recording the intent it creates. */
  async act(d: Device, key: string, action: (c: Conversation) => Promise<unknown>): Promise<void> {
    const c = await this.open(d, key);
    const before = new Set(c.pendingIntents().map((i) => i.id));
    try {
      await action(c);
    } catch (error) {
      if (error instanceof ConvosyncError) return; // refused at once: nothing recorded
      throw error;
    }
    const genesisPending = c.pendingIntents().some((i) => i.kind === 'createGroup');
    for (const intent of c.pendingIntents()) {
      if (before.has(intent.id)) continue;
      this.ledger.recorded.set(intent.id, intent.kind);
      // Invited before the group's first sync: part of its genesis, reported by "created".
      if (intent.kind === 'invite' && genesisPending)
        this.ledger.groups.get(key)?.push(intent.identity as Who);
      if (intent.kind === 'send') this.ledger.sends.set(intent.id, key);
    }
  }

  groupKey(g: number): string {
    return g === 2 && this.keys[2] ? this.keys[2] : this.keys[0]!;
  }

  convKey(c: number): string {
    return c === 2 ? this.groupKey(2) : this.keys[c]!;
  }

  async run(s: Step): Promise<void> {
    if (s.t === 'pause') {
      await new Promise((resolve) => setTimeout(resolve, s.ms));
      return;
    }
    if (s.t === 'serverRestart') {
      await this.ts.close();
      this.ts = await startTestServer({ dataDir: this.dataDir, env: { PORT: String(this.port) } });
      return;
    }
    const d = this.devices[s.d]!;
    const id = (who: Who) => asIdentityId(who);
    const role = (admin: boolean) => (admin ? MemberRole.Admin : MemberRole.Member);
    switch (s.t) {
      case 'offline':
        d.online = false;
        d.client.goOffline();
        return;
      case 'online':
        d.online = true;
        d.client.goOnline();
        return;
      case 'restart':
        await d.client.close();
        d.client = await this.newClient(d.who, d.store, d.online);
        return;
      case 'create': {
        if (this.keys[2]) return;
        const members = s.members.filter((m) => m !== d.who);
        const c = await d.client.createGroup({
          name: 'offline made',
          members: members.map((m) => ({ identity: m, identityType: 1 })),
        });
        this.listen(c);
        this.keys[2] = c.key;
        this.ledger.groups.set(c.key, [d.who, ...members]);
        for (const intent of c.pendingIntents()) this.ledger.recorded.set(intent.id, intent.kind);
        return;
      }
      case 'send':
        return this.act(d, this.convKey(s.c), (c) => c.send({ content: s.text }));
      case 'recall':
        return this.act(d, this.convKey(s.c), (c) => {
          const own = c.messages().filter((m) => m.sender === d.who && !m.system && !m.recalled);
          const target = own[s.pick % Math.max(own.length, 1)];
          return target ? c.recall(target.key) : Promise.resolve();
        });
      case 'read':
        return this.act(d, this.convKey(s.c), (c) => c.markRead());
      case 'invite':
        return this.act(d, this.groupKey(s.g), (c) => c.invite(id(s.who), 1, role(s.admin)));
      case 'remove':
        return this.act(d, this.groupKey(s.g), (c) => c.remove(id(s.who)));
      case 'exit':
        return this.act(d, this.groupKey(s.g), (c) => c.exit());
      case 'role':
        return this.act(d, this.groupKey(s.g), (c) => c.setRole(id(s.who), role(s.admin)));
      case 'transfer':
        return this.act(d, this.groupKey(s.g), (c) => c.transferOwnership(id(s.who)));
      case 'mute':
        return this.act(d, this.groupKey(s.g), (c) =>
          c.mute(id(s.who), s.on ? Date.now() + 3_600_000 : null),
        );
      case 'rename':
        return this.act(d, this.groupKey(s.g), (c) => c.updateInfo({ name: s.name }));
    }
  }

  /** Every device online, then every outbox empty. */
  async drain(): Promise<void> {
    for (const d of this.devices) {
      d.online = true;
      d.client.goOnline();
      for (const key of this.keys) await this.open(d, key);
    }
    await waitFor(() => this.stuck().length === 0, 20_000, 'every intent settled').catch(
      (error: Error) => {
        throw new Error(`${error.message}; still pending: ${JSON.stringify(this.stuck())}`);
      },
    );
  }

  /** The conversations each device opened last (its current client's). */
  private readonly opened = new Map<Device, Map<string, Conversation>>();

  stuck(): string[] {
    const out: string[] = [];
    for (const [d, map] of this.opened)
      for (const [key, c] of map)
        for (const i of c.pendingIntents()) out.push(`${d.who}:${key.slice(0, 14)}:${i.kind}`);
    return out;
  }

  async serverDoc(key: string) {
    const lent = await this.ts.server.rooms.borrow(key);
    try {
      return await lent.read((doc) => ({
        json: snapshot(doc),
        members: conversationRoots(doc).members.toJSON() as Record<string, Member>,
        log: listMessages(doc),
        reads: conversationRoots(doc).reads.toJSON() as Record<string, number>,
      }));
    } finally {
      lent.release();
    }
  }

  async check(): Promise<void> {
    // Exactly one outcome per recorded intent.
    for (const [intentId, kind] of this.ledger.recorded) {
      const outcomes = this.ledger.outcomes.get(intentId) ?? [];
      expect(outcomes.length, `intent ${kind} ${intentId} settled ${outcomes.length} times`).toBe(
        1,
      );
    }
    for (const key of this.keys) {
      const server = await this.serverDoc(key);
      // Gapless, unique seq.
      const seqs = server.log.map((m) => m.stamp?.seq ?? 0);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      // Accepted messages are in the log; refused ones are not.
      const inLog = new Set(server.log.map((m) => m.key));
      for (const [send, where] of this.ledger.sends) {
        const outcome = this.ledger.outcomes.get(send)?.[0];
        if (!outcome || where !== key) continue;
        if (inLog.has(send as MessageKey) !== (outcome.status === 'accepted')) {
          const holders = [...this.opened].flatMap(([d, map]) => {
            const c = map.get(key);
            const m = c && conversationRoots(c.doc).messages.get(send);
            return m
              ? [
                  `${d.who}: ${JSON.stringify(conversationRoots(c.doc).stamps.get(send) ?? 'unstamped')}`,
                ]
              : [];
          });
          const serverHas = (server.json.messages as Record<string, unknown>)[send] !== undefined;
          expect.fail(
            `send ${send} in ${key} ${outcome.status}, in the server log: ${inLog.has(send as MessageKey)}, in the server doc: ${serverHas}; held by ${holders.join(', ') || 'nobody'}; ${this.ledger.trace.get(send) ?? ''}`,
          );
        }
      }
      for (const m of server.log) {
        if (m.recalled) expect(m.stamp?.recalledAt, `recall of ${m.key} stamped`).toBeDefined();
      }
      for (const seq of Object.values(server.reads)) expect(seq).toBeLessThanOrEqual(seqs.length);
      const initial = this.ledger.groups.get(key);
      if (initial) {
        const owners = Object.values(server.members).filter(
          (m) => m.status === MemberStatus.Active && m.role === MemberRole.Owner,
        );
        const creations = [...this.ledger.recorded]
          .filter(([, kind]) => kind === 'createGroup')
          .map(([i]) =>
            JSON.stringify(
              this.ledger.outcomes
                .get(i)
                ?.map((o) =>
                  o.status === 'refused' ? `refused ${o.error.code} ${o.error.message}` : o.status,
                ),
            ),
          );
        expect(
          owners,
          `one owner in ${key}: ${JSON.stringify(server.members)}; creations ${creations.join(' ')}`,
        ).toHaveLength(1);
        // The log replayed with its own notes: nobody posts while not a member.
        const active = new Set<string>(initial);
        for (const m of server.log) {
          const e = m.system;
          if (e?.event === 'joined') active.add(e.target);
          else if (e?.event === 'exited') active.delete(e.actor);
          else if (e?.event === 'removed') active.delete(e.target);
          else if (!e) expect(active.has(m.sender), `${m.sender} posts as a member`).toBe(true);
        }
      }
      // Every device that may read it holds the server's replica; so does a fresh client.
      const readers = new Set(
        initial
          ? Object.entries(server.members)
              .filter(([, m]) => m.status === MemberStatus.Active)
              .map(([who]) => who)
          : ['alice', 'bob'],
      );
      for (const d of this.devices) {
        if (!readers.has(d.who)) continue;
        const c = await this.open(d, key);
        await waitFor(
          () => {
            // Access lost before an invite landed: the app reconnects when told of the invite.
            if (c.status === 'closed') c.connect();
            return isDeepStrictEqual(snapshot(c.doc), server.json);
          },
          10_000,
          `${d.who}'s replica of ${key} equals the server's`,
        ).catch(() => expect(snapshot(c.doc), `${d.who}'s replica of ${key}`).toEqual(server.json));
      }
      const who = [...readers][0] as Who | undefined;
      if (who) {
        const fresh = await this.newClient(who, memoryStore(), true);
        cleanups.push(() => fresh.close());
        const c = await fresh.open(key);
        await c.whenSynced();
        expect(snapshot(c.doc)).toEqual(server.json);
      }
    }
  }
}

/** What replicas must agree on (clients' own presence aside). */
function snapshot(doc: import('yjs').Doc) {
  const r = conversationRoots(doc);
  return {
    meta: r.meta.toJSON(),
    settings: r.settings.toJSON(),
    members: r.members.toJSON(),
    messages: r.messages.toJSON(),
    stamps: r.stamps.toJSON(),
    reads: r.reads.toJSON(),
    profiles: r.profiles.toJSON(),
  };
}

it(
  'offline intents converge: settled once, nothing pending, identical replicas, gapless seq, rules hold',
  async () => {
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: Math.ceil(STEPS / 2), maxLength: STEPS }),
        async (steps) => {
          try {
            const world = new World();
            const t0 = Date.now();
            await world.start();
            const t1 = Date.now();
            const slow: string[] = [];
            for (const s of steps) {
              const ts = Date.now();
              await world.run(s);
              if (Date.now() - ts > 300) slow.push(`${s.t}:${Date.now() - ts}`);
            }
            const t2 = Date.now();
            let t3 = t2;
            const judged = (async () => {
              await world.drain();
              t3 = Date.now();
              await world.check();
            })();
            await judged.catch((error: Error) => {
              if (process.env.FUZZ_STATS)
                console.log('FAIL', error.message.slice(0, 1200), JSON.stringify(steps));
              throw error;
            });
            const tally: Record<string, number> = {};
            for (const [, o] of world.ledger.outcomes) {
              const k =
                o[0]!.status === 'refused'
                  ? `refused ${(o[0] as { error: { code: string; message: string } }).error.code}${
                      (o[0] as { error: { code: string } }).error.code === 'SCHEMA_VIOLATION'
                        ? `: ${(o[0] as { error: { message: string } }).error.message}`
                        : ''
                    }`
                  : o[0]!.status;
              tally[k] = (tally[k] ?? 0) + 1;
            }
            if (process.env.FUZZ_STATS)
              console.log(
                'STATS',
                JSON.stringify({
                  start: t1 - t0,
                  steps: t2 - t1,
                  drain: t3 - t2,
                  check: Date.now() - t3,
                  slow,
                  recorded: world.ledger.recorded.size,
                  tally,
                }),
              );
          } finally {
            for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
          }
        },
      ),
      {
        // FUZZ_CASE: a counterexample's steps (JSON, as printed), run before the random ones.
        ...(process.env.FUZZ_CASE
          ? { examples: [[JSON.parse(process.env.FUZZ_CASE) as Step[]]] }
          : {}),
        numRuns: RUNS,
        ...(seed !== undefined ? { seed } : {}),
        ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
        endOnFailure: false,
        // The limit bounds the whole property (runs and shrinking; shrinking replays whole runs),
        // so it follows the test's own timeout: a long run executes all its runs, and a failure
        // still reports the smallest case found before the limit.
        interruptAfterTimeLimit: Number(process.env.FUZZ_SHRINK_MS ?? SHRINK_MS),
        markInterruptAsFailure: false,
        verbose: 1,
      },
    );
  },
  TIMEOUT_MS,
);
