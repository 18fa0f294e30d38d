import { OriginPolicy, originProblem } from './origin-policy';

describe(OriginPolicy.name, () => {
  describe('an exact origin', () => {
    const sut = new OriginPolicy(['https://chat.example.com', 'http://localhost:8080']);

    it.each([
      'https://chat.example.com',
      'https://CHAT.example.com',
      'https://chat.example.com:443',
      'http://localhost:8080',
    ])('allows %s', (origin) => expect(sut.allows(origin)).toBe(true));

    it.each([
      ['another scheme', 'http://chat.example.com'],
      ['another port', 'https://chat.example.com:8443'],
      ['a subdomain', 'https://a.chat.example.com'],
      ['a look-alike suffix', 'https://chat.example.com.evil.net'],
      ['a look-alike prefix', 'https://evilchat.example.com'],
      ['the default port of another scheme', 'http://localhost'],
      ['null', 'null'],
      ['an empty value', ''],
      ['garbage', 'not an origin'],
      ['an opaque origin', 'chrome-extension://abcdef'],
    ])('refuses %s (%s)', (_, origin) => expect(sut.allows(origin)).toBe(false));
  });

  describe('a wildcard', () => {
    const sut = new OriginPolicy(['https://*.example.com']);

    it.each(['https://a.example.com', 'https://a.b.example.com', 'https://A.Example.COM:443'])(
      'allows %s',
      (origin) => expect(sut.allows(origin)).toBe(true),
    );

    it.each([
      ['the domain itself', 'https://example.com'],
      ['a look-alike suffix', 'https://example.com.evil.net'],
      ['a name that merely ends the same', 'https://evilexample.com'],
      ['a subdomain of a look-alike', 'https://a.example.com.evil.net'],
      ['another scheme', 'http://a.example.com'],
      ['another port', 'https://a.example.com:8443'],
      ['an empty label', 'https://.example.com'],
    ])('refuses %s (%s)', (_, origin) => expect(sut.allows(origin)).toBe(false));

    it('keeps its port', () => {
      const withPort = new OriginPolicy(['http://*.example.test:8080']);
      expect(withPort.allows('http://a.example.test:8080')).toBe(true);
      expect(withPort.allows('http://a.example.test')).toBe(false);
    });
  });

  it('compares internationalised names in their ASCII form, as browsers send them', () => {
    const sut = new OriginPolicy(['https://*.bücher.de']);
    expect(sut.allows('https://shop.xn--bcher-kva.de')).toBe(true);
  });

  it('takes IPv6 hosts', () => {
    expect(new OriginPolicy(['http://[::1]:8080']).allows('http://[::1]:8080')).toBe(true);
  });
});

describe(originProblem.name, () => {
  it.each([
    'https://chat.example.com',
    'https://chat.example.com/',
    'http://localhost:8080',
    'https://*.example.com',
    'https://*.example.com:8443',
    'http://127.0.0.1:8080',
    'http://[::1]:8080',
  ])('accepts %s', (entry) => expect(originProblem(entry)).toBeUndefined());

  it.each([
    ['no scheme', 'chat.example.com'],
    ['another scheme', 'ws://chat.example.com'],
    ['a path', 'https://chat.example.com/chat'],
    ['a query', 'https://chat.example.com?x=1'],
    ['credentials', 'https://user@chat.example.com'],
    ['a star inside a label', 'https://a*.example.com'],
    ['a star not in front', 'https://chat.*.com'],
    ['a bare star', '*'],
    ['a star for the whole host', 'https://*'],
    ['a star before an address', 'https://*.1.2.3.4'],
    ['a bad port', 'https://chat.example.com:99999'],
    ['null', 'null'],
    ['an empty entry', ''],
  ])('refuses %s (%s), quoting it', (_, entry) => expect(originProblem(entry)).toContain(`"${entry}"`));
});
