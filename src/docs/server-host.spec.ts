import { isPlausibleHost, serverHost } from './server-host';

describe(isPlausibleHost.name, () => {
  it.each([
    'localhost',
    'chat.example.com',
    'chat.example.com:8443',
    '127.0.0.1:8080',
    '[::1]',
    '[::1]:8080',
    '[2001:db8::ffff:1.2.3.4]:443',
  ])('accepts %j', (host) => expect(isPlausibleHost(host)).toBe(true));

  it.each([
    '',
    ':8080',
    'evil.example/<script>',
    'user@evil.example',
    'a b',
    '-evil.example',
    'evil..example',
    'evil.example:0',
    'evil.example:65536',
    'evil.example:80:80',
    '::1',
    '[::1',
    '[evil]:80',
    '[fe80::1%25eth0]',
    `${'a'.repeat(64)}.example`,
    `${'a.'.repeat(127)}ab`,
  ])('refuses %j', (host) => expect(isPlausibleHost(host)).toBe(false));
});

describe(serverHost.name, () => {
  const config = { host: '0.0.0.0', port: 8080 };

  it('is the requested host when plausible', () => {
    expect(serverHost('chat.example.com', config)).toBe('chat.example.com');
  });

  it('is the configured HOST:PORT otherwise, an IPv6 HOST in brackets', () => {
    expect(serverHost('evil/<x>', config)).toBe('0.0.0.0:8080');
    expect(serverHost(undefined, config)).toBe('0.0.0.0:8080');
    expect(serverHost('evil/<x>', { host: '::', port: 8080 })).toBe('[::]:8080');
  });
});
