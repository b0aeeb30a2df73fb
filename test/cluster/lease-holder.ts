/**
 * @module A node that only holds a lease, as a child process the lease test can SIGSTOP: it
 * claims the room it is given, then prints what happens to it as JSON lines.
 * argv: redisUrl id room ttlMs renewMs fenceAfterMs
 */
import { startNodeLease } from '../../server/cluster/lease.js';
import { connectRedis } from '../../server/cluster/redis.js';

const [url, id, room, ttl, renew, fence] = process.argv.slice(2);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const redis = await connectRedis(url!);
const lease = await startNodeLease({
  redis,
  id: id!,
  ttlMs: Number(ttl),
  renewMs: Number(renew),
  fenceAfterMs: Number(fence),
  onLost: (lost, reason) => say({ event: 'lost', room: lost, reason, alive: lease.alive() }),
});
say({ event: 'claimed', holder: await lease.claim(room!) });
setInterval(() => {}, 1000); // stays up until killed
