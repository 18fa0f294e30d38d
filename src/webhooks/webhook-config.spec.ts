import { randomBytes } from 'node:crypto';
import { parseWebhookConfig, type WebhookEnv } from './webhook-config';
import { DEFAULT_WEBHOOK_EVENTS } from './webhook-event';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const PLAIN_SECRET = 'p'.repeat(32);
const URL1 = 'https://app.example.com/hooks';
const valid = (more: WebhookEnv = {}): WebhookEnv => ({ WEBHOOK_URL: URL1, WEBHOOK_SECRET: SECRET, ...more });
const problemsOf = (env: WebhookEnv) => parseWebhookConfig(env).problems;

describe(parseWebhookConfig.name, () => {
  it('is off, with no problems, when WEBHOOK_URL is unset or blank', () => {
    expect(parseWebhookConfig({})).toEqual({ config: undefined, problems: [] });
    expect(parseWebhookConfig({ WEBHOOK_URL: ' ', WEBHOOK_EVENTS: 'message' })).toEqual({
      config: undefined,
      problems: [],
    });
  });

  it('reads the defaults', () => {
    const { config, problems } = parseWebhookConfig(valid());
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      endpoints: [{ url: new URL(URL1), events: DEFAULT_WEBHOOK_EVENTS }],
      queueSize: 10_000,
      timeoutMs: 10_000,
      retryForMs: 300_000,
    });
    expect(config!.endpoints[0].events).not.toContain('message');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads comma-separated lists, ignoring spaces around entries', () => {
    const { config } = parseWebhookConfig({
      WEBHOOK_URL: ` ${URL1} , http://127.0.0.1:8080/in?token=x `,
      WEBHOOK_SECRET: `${SECRET} ,  ${PLAIN_SECRET}`,
      WEBHOOK_EVENTS: 'message , member_left',
      WEBHOOK_QUEUE_SIZE: 5,
      WEBHOOK_TIMEOUT_MS: 100,
      WEBHOOK_RETRY_FOR_MS: 86_400_000,
    });
    expect(config!.endpoints.map((e) => String(e.url))).toEqual([URL1, 'http://127.0.0.1:8080/in?token=x']);
    expect(config!.secrets.map((key) => key.export())).toEqual([
      Buffer.from(SECRET.slice('whsec_'.length), 'base64'),
      Buffer.from(PLAIN_SECRET),
    ]);
    for (const endpoint of config!.endpoints) expect(endpoint.events).toEqual(['message', 'member_left']);
    expect(config).toMatchObject({ queueSize: 5, timeoutMs: 100 });
    expect(config!.retryForMs).toBe(86_400_000);
  });

  describe('WEBHOOK_URL', () => {
    it.each([
      ['/relative', 'is not an absolute URL'],
      ['ftp://files.example.com/x', 'must be an http or https URL'],
      ['https://user:hunter2-password@app.example.com/x', 'must not hold credentials'],
      ['', 'is not an absolute URL'],
    ])('refuses %j by position, without echoing it', (bad, why) => {
      const problems = problemsOf(valid({ WEBHOOK_URL: `${URL1},${bad}` }));
      expect(problems).toEqual([expect.stringContaining(`WEBHOOK_URL entry 2 ${why}`)]);
      if (bad !== '') expect(problems.join()).not.toContain(bad);
    });

    it('refuses the same endpoint twice', () => {
      expect(problemsOf(valid({ WEBHOOK_URL: `${URL1}, https://APP.example.com/hooks` }))).toEqual([
        'WEBHOOK_URL entry 2 repeats entry 1',
      ]);
    });

    it('needs a secret: unsigned webhooks are not sent', () => {
      expect(problemsOf({ WEBHOOK_URL: URL1 })).toEqual([expect.stringContaining('WEBHOOK_SECRET is not')]);
      expect(problemsOf({ WEBHOOK_URL: URL1, WEBHOOK_SECRET: '' })).toHaveLength(1);
    });
  });

  describe('WEBHOOK_SECRET', () => {
    it('is a problem without WEBHOOK_URL', () => {
      expect(parseWebhookConfig({ WEBHOOK_SECRET: SECRET })).toEqual({
        config: undefined,
        problems: ['WEBHOOK_SECRET is set but WEBHOOK_URL is not'],
      });
    });

    it.each([
      ['whsec_ with too few bytes', `whsec_${randomBytes(23).toString('base64')}`, 'decodes to 23 bytes'],
      ['whsec_ with no base64', 'whsec_not*base64!at-all_but_long_enough_123', 'followed by base64'],
      ['whsec_ with base64 cut short', `whsec_${randomBytes(30).toString('base64').slice(0, 37)}`, 'base64'],
      ['a short plain string', 'p'.repeat(31), 'is 31 characters; it needs at least 32'],
    ])('refuses %s, by position, without echoing it', (_, bad, why) => {
      const problems = problemsOf(valid({ WEBHOOK_SECRET: `${SECRET},${bad}` }));
      expect(problems).toEqual([expect.stringContaining(`WEBHOOK_SECRET entry 2 `)]);
      expect(problems[0]).toContain(why);
      expect(problems[0]).not.toContain(bad);
    });

    it('accepts whsec_ base64 without its padding', () => {
      const unpadded = `whsec_${randomBytes(25).toString('base64').replace(/=+$/, '')}`;
      expect(
        parseWebhookConfig(valid({ WEBHOOK_SECRET: unpadded })).config!.secrets[0].symmetricKeySize,
      ).toBe(25);
    });
  });

  describe('WEBHOOK_EVENTS', () => {
    it('names the unknown events and the known ones', () => {
      expect(problemsOf(valid({ WEBHOOK_EVENTS: 'member_joined,member_kicked,' }))).toEqual([
        'WEBHOOK_EVENTS names unknown events "member_kicked", "" ' +
          '(known: room_occupied, room_vacated, member_joined, member_left, message)',
      ]);
    });

    it('keeps one of each', () => {
      expect(
        parseWebhookConfig(valid({ WEBHOOK_EVENTS: 'message,message' })).config!.endpoints[0].events,
      ).toEqual(['message']);
    });

    it('takes one list per endpoint, separated by ";", in WEBHOOK_URL order', () => {
      const two = { WEBHOOK_URL: `${URL1},http://127.0.0.1:9/b`, WEBHOOK_SECRET: SECRET };
      const { config } = parseWebhookConfig({
        ...two,
        WEBHOOK_EVENTS: 'room_occupied,room_vacated; message',
      });
      expect(config!.endpoints.map((e) => e.events)).toEqual([
        ['room_occupied', 'room_vacated'],
        ['message'],
      ]);
      expect(problemsOf({ ...two, WEBHOOK_EVENTS: 'message;message;message' })).toEqual([
        'WEBHOOK_EVENTS has 3 lists separated by ";" for 2 WEBHOOK_URL entries: give one list, or one per URL',
      ]);
      expect(problemsOf({ ...two, WEBHOOK_EVENTS: 'message;nope' })[0]).toMatch(/unknown events "nope"/);
    });
  });

  it('reports every problem at once, and then gives no config', () => {
    const { config, problems } = parseWebhookConfig({
      WEBHOOK_URL: 'nope',
      WEBHOOK_EVENTS: 'nope',
    });
    expect(config).toBeUndefined();
    expect(problems).toHaveLength(3);
  });
});
