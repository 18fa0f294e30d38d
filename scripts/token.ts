/**
 * Prints a token signed with the configured JWT_SECRET, for trying the service by hand:
 *   JWT_SECRET=... npm run token -- --sub alice --name Alice --rooms 'private:team-7:*' --ttl 3600
 * It reads the same variables as the service (JWT_SECRET, JWT_ALGORITHMS, JWT_AUDIENCE,
 * JWT_ISSUER), so the token passes the service started with them.
 */
import { SignJWT } from 'jose';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load-config';

const USAGE =
  "usage: npm run token -- --sub <user> [--name <display name>] [--rooms 'private:team-7:*'] [--rooms ...] [--ttl <seconds>]";

async function main(): Promise<string> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      name: { type: 'string' },
      rooms: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '3600' },
    },
  });
  const ttl = Number(values.ttl);
  if (!values.sub || !Number.isInteger(ttl)) throw new Error(USAGE);
  const jwt = loadConfig(process.env).jwt;
  if (jwt?.key.kind !== 'secret') {
    throw new Error('Set JWT_SECRET (32 bytes or more), as for the service: this signs with it. ' + USAGE);
  }
  const claims: Record<string, unknown> = { sub: values.sub };
  if (values.name !== undefined) claims.name = values.name;
  if (values.rooms !== undefined) claims.rooms = values.rooms.flatMap((rooms) => rooms.split(','));
  const token = new SignJWT(claims)
    .setProtectedHeader({ alg: jwt.algorithms[0], typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl);
  if (jwt.audience !== undefined) token.setAudience(jwt.audience);
  if (jwt.issuer !== undefined) token.setIssuer(jwt.issuer);
  return token.sign(jwt.key.secret);
}

main().then(
  (token) => console.log(token),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
