import type { IncomingMessage } from 'node:http';
import { ClientAddress, normalise, proxyProblem } from './client-address';

const upgrade = (remoteAddress: string | undefined, forwardedFor?: string) =>
  ({
    socket: { remoteAddress },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage;

describe(ClientAddress.name, () => {
  describe('without TRUSTED_PROXIES', () => {
    const sut = new ClientAddress([]);

    it('is the peer, whatever X-Forwarded-For says', () => {
      expect(sut.of(upgrade('198.51.100.7', '203.0.113.1'))).toBe('198.51.100.7');
    });

    it('counts an IPv4-mapped IPv6 peer as its IPv4 address', () => {
      expect(sut.of(upgrade('::ffff:127.0.0.1'))).toBe('127.0.0.1');
    });
  });

  describe('with TRUSTED_PROXIES', () => {
    const sut = new ClientAddress(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

    it('believes a trusted peer: the client is the address it appended', () => {
      expect(sut.of(upgrade('10.1.2.3', '203.0.113.1'))).toBe('203.0.113.1');
    });

    it('takes the right-most address that is not a trusted proxy, not what the client wrote in front', () => {
      expect(sut.of(upgrade('10.1.2.3', '6.6.6.6, 203.0.113.1, 10.9.9.9'))).toBe('203.0.113.1');
    });

    it('ignores the header from a peer that is not trusted', () => {
      expect(sut.of(upgrade('198.51.100.7', '203.0.113.1'))).toBe('198.51.100.7');
    });

    it('is the peer when a trusted proxy sends no header', () => {
      expect(sut.of(upgrade('10.1.2.3'))).toBe('10.1.2.3');
    });

    it('matches a dual-stack socket’s IPv4-mapped peer against IPv4 entries', () => {
      expect(sut.of(upgrade('::ffff:127.0.0.1', '203.0.113.1'))).toBe('203.0.113.1');
      expect(sut.of(upgrade('::ffff:10.0.0.5', '::ffff:203.0.113.1'))).toBe('203.0.113.1');
    });

    it('matches IPv6 CIDRs', () => {
      expect(sut.of(upgrade('fd12::1', '2001:db8::7'))).toBe('2001:db8::7');
      expect(sut.of(upgrade('2001:db8::1', '203.0.113.1'))).toBe('2001:db8::1');
    });

    it('takes hops written with a port', () => {
      expect(sut.of(upgrade('10.1.2.3', '203.0.113.1:5678'))).toBe('203.0.113.1');
      expect(sut.of(upgrade('10.1.2.3', '[2001:DB8::7]:5678'))).toBe('2001:db8::7');
    });

    it('stops at an unreadable hop, at the proxy that passed it on', () => {
      expect(sut.of(upgrade('10.1.2.3', '203.0.113.1, garbage, 10.2.2.2'))).toBe('10.2.2.2');
      expect(sut.of(upgrade('10.1.2.3', 'unknown'))).toBe('10.1.2.3');
    });

    it('is the left-most hop when every hop is trusted', () => {
      expect(sut.of(upgrade('10.1.2.3', '10.5.5.5, 127.0.0.1'))).toBe('10.5.5.5');
    });
  });
});

describe(normalise.name, () => {
  it.each([
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['2001:DB8::1', '2001:db8::1'],
    ['::ffff:abcd', '::ffff:abcd'],
  ])('%s is %s', (address, expected) => expect(normalise(address)).toBe(expected));
});

describe(proxyProblem.name, () => {
  it.each(['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8', '::ffff:10.0.0.0/104', '::/0'])(
    'accepts %s',
    (entry) => expect(proxyProblem(entry)).toBeUndefined(),
  );

  it.each([
    'localhost',
    '10.0.0.0/33',
    'fd00::/129',
    '10.0.0.0/',
    '10.0.0.0/8/8',
    '10.0.0.0/x',
    '10.0.0',
    '',
  ])('refuses %s, quoting it', (entry) => expect(proxyProblem(entry)).toContain(`"${entry}"`));
});
