/**
 * @module `npm run token -- <identityId> [--type N] [--role admin|service] [--ttl seconds]`:
 * prints a JWT for an identity, signed with JWT_SECRET or the built-in development secret.
 */
import { parseArgs } from 'node:util';
import { type PlatformRole, signToken } from '../server/auth/identity.js';
import { DEV_JWT_SECRET } from '../server/config.js';
import { asIdentityId } from '../shared/ids.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    type: { type: 'string', default: '0' },
    role: { type: 'string' },
    ttl: { type: 'string', default: String(24 * 3600) },
  },
});
const [id] = positionals;
if (!id) {
  process.stderr.write(
    'usage: npm run token -- <identityId> [--type N] [--role admin|service] [--ttl seconds]\n',
  );
  process.exit(2);
}
if (values.role !== undefined && values.role !== 'admin' && values.role !== 'service') {
  process.stderr.write('--role must be admin or service\n');
  process.exit(2);
}
const secret = process.env.JWT_SECRET ?? DEV_JWT_SECRET;
if (!process.env.JWT_SECRET)
  process.stderr.write('warning: no JWT_SECRET set, signing with the development secret\n');
const token = await signToken(
  {
    id: asIdentityId(id),
    type: Number(values.type),
    ...(values.role ? { role: values.role as PlatformRole } : {}),
  },
  secret,
  Number(values.ttl),
);
process.stdout.write(`${token}\n`);
