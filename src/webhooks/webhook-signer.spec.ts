import { createSecretKey, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { WebhookSigner, webhookId } from './webhook-signer';

const OLD = randomBytes(32);
const NEW = randomBytes(24);
const whsec = (bytes: Buffer) => `whsec_${bytes.toString('base64')}`;
const body = JSON.stringify({ events: [{ id: 'e1', name: 'member_joined', room: 'r1', user: 'u1', ts: 1 }] });

describe(WebhookSigner.name, () => {
  const sut = new WebhookSigner([createSecretKey(OLD), createSecretKey(NEW)]);

  it.each([
    ['the old secret', OLD],
    ['the new secret', NEW],
  ])('signs so that a receiver holding only %s verifies the request', (_, secret) => {
    const headers = sut.headers('msg_1', body);
    expect(new Webhook(whsec(secret)).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('gives one v1 signature per secret, space-separated', () => {
    expect(sut.headers('msg_1', body)['webhook-signature']).toMatch(
      /^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/,
    );
  });

  it('fails verification with another secret, another body or another id', () => {
    const headers = sut.headers('msg_1', body);
    expect(() => new Webhook(whsec(randomBytes(32))).verify(body, headers)).toThrow('No matching signature');
    expect(() => new Webhook(whsec(OLD)).verify(`${body} `, headers)).toThrow('No matching signature');
    const otherId = { ...headers, 'webhook-id': 'msg_2' };
    expect(() => new Webhook(whsec(OLD)).verify(body, otherId)).toThrow('No matching signature');
  });

  it('signs a plain secret as its UTF-8 bytes', () => {
    const plain = 'a plain secret of at least 32 chars, ünïcödé';
    const headers = new WebhookSigner([createSecretKey(Buffer.from(plain))]).headers('msg_1', body);
    expect(() => new Webhook(Buffer.from(plain), { format: 'raw' }).verify(body, headers)).not.toThrow();
  });

  it('stamps the attempt time in unix seconds, and signs it', () => {
    const at = Date.UTC(2030, 0, 1, 12, 0, 0, 999);
    const headers = sut.headers('msg_1', body, at);
    expect(headers['webhook-timestamp']).toBe('1893499200');
    expect(headers['webhook-signature'].split(' ')[0]).toBe(
      new Webhook(whsec(OLD)).sign('msg_1', new Date(at), body),
    );
  });

  it('sends JSON and names the service as its user agent', () => {
    expect(sut.headers('msg_1', body)).toMatchObject({
      'content-type': 'application/json',
      'user-agent': expect.stringMatching(/^rooms-service-webhooks\/\d+\.\d+\.\d+/),
      'webhook-id': 'msg_1',
    });
  });

  it('refuses to sign with no secret', () => {
    expect(() => new WebhookSigner([])).toThrow('at least one secret');
  });
});

describe(webhookId.name, () => {
  it('is the same for the same events, whoever computes it', () => {
    expect(webhookId(['e1', 'e2'])).toBe(webhookId(['e1', 'e2']));
    expect(webhookId(['e1', 'e2'])).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
  });

  it('differs for other events, fewer events, another order, or ids that join alike', () => {
    const ids = [['e1', 'e2'], ['e1', 'e3'], ['e1'], ['e2', 'e1'], ['e1,e2'], ['e1', '', 'e2']].map(
      webhookId,
    );
    expect(new Set(ids).size).toBe(ids.length);
  });
});
