/**
 * @module What the fan-out benchmarks share: a forked load-generator process (./load.ts) that
 * answers one command at a time, and a group made on convosync through its REST API.
 */
import { fork } from 'node:child_process';
import { signToken } from '../../server/auth/identity.js';
import { asIdentityId } from '../../shared/ids.js';
import type { Command, Member, Reply } from './protocol.js';
import { BENCH_SECRET, type Server } from './servers.js';

/** A forked load-generator process answering one command at a time. */
export class Gen {
  private readonly child = fork(new URL('./load.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  get pid(): number {
    return this.child.pid!;
  }
  ask(command: Command): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (reply: Reply) =>
        reply.type === 'error' ? reject(new Error(reply.message)) : resolve(reply),
      );
      this.child.send(command);
    });
  }
  async close(): Promise<void> {
    await this.ask({ type: 'close' }).catch(() => undefined);
    this.child.kill();
  }
}

/** A group of `ids` made by its first member on convosync; its key and the members' tokens. */
export async function productRoom(
  server: Pick<Server, 'http'>,
  ids: string[],
): Promise<{ name: string; members: Member[] }> {
  const members = await Promise.all(
    ids.map(async (id) => ({
      id,
      token: await signToken({ id: asIdentityId(id), type: 1 }, BENCH_SECRET, 3600),
    })),
  );
  const res = await fetch(`${server.http}/api/v1/conversations/group`, {
    method: 'POST',
    headers: { authorization: `Bearer ${members[0]!.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'bench',
      members: ids.slice(1).map((identityId) => ({ identityId, identityType: 1 })),
      ...(ids.length > 200 ? { maxMemberCount: 500 } : {}),
    }),
  });
  const body = (await res.json()) as { data?: { conversationKey: string }; message?: string };
  if (!res.ok || !body.data) throw new Error(`creating a group failed: ${body.message}`);
  return { name: body.data.conversationKey, members };
}
