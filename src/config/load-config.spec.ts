import { loadConfig } from './load-config';

describe(loadConfig.name, () => {
  it('uses the documented defaults when nothing is set', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: '0.0.0.0',
      wsPath: '/ws',
      maxMessageLength: 4096,
      maxRoomsPerConnection: 32,
      maxPayloadBytes: 65536,
      slowConsumerBytes: 1048576,
      heartbeatIntervalMs: 30000,
      shutdownTimeoutMs: 3000,
      logLevel: 'log',
      logFormat: 'json',
      perMessageDeflate: false,
      redisUrl: undefined,
      redisClusterNodes: undefined,
      redisPrefix: 'rooms',
      authMode: 'open',
      authTimeoutMs: 10000,
      jwt: undefined,
      privateRoomPrefix: 'private:',
      allowedOrigins: undefined,
      rateLimitFramesPerS: 50,
      rateLimitBurst: 100,
      connectRatePerIp: 0,
      connectBurstPerIp: 0,
      maxConnectionsPerIp: 0,
      maxConnections: 0,
      trustedProxies: [],
      history: {
        size: 100,
        ttlMs: 300000,
        maxBytes: 64 * 1024 * 1024,
        maxRecover: 100,
        idempotencyTtlMs: 300000,
        idempotencyMaxKeys: 200000,
      },
      presence: { graceMs: 5000, maxMembers: 1000, windowMs: 100 },
    });
  });

  it('reads and converts every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      WS_PATH: '/chat',
      PER_MESSAGE_DEFLATE: 'true',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'pretty',
    });
    expect(config).toMatchObject({
      port: 9000,
      wsPath: '/chat',
      perMessageDeflate: true,
      logLevel: 'debug',
      logFormat: 'pretty',
    });
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(8080);
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['WS_PATH', 'ws'],
    ['MAX_MESSAGE_LENGTH', '0'],
    ['MAX_ROOMS_PER_CONNECTION', '-1'],
    ['MAX_PAYLOAD_BYTES', '10'],
    ['SLOW_CONSUMER_BYTES', 'lots'],
    ['HEARTBEAT_INTERVAL_MS', '1'],
    ['HEARTBEAT_INTERVAL_MS', '3000000000'],
    ['SHUTDOWN_TIMEOUT_MS', '0'],
    ['SHUTDOWN_TIMEOUT_MS', '999999'],
    ['LOG_LEVEL', 'chatty'],
    ['LOG_FORMAT', 'yaml'],
    ['PER_MESSAGE_DEFLATE', 'yes'],
    ['REDIS_URL', 'localhost:6379'],
    ['REDIS_PREFIX', '{rooms}'],
    ['REDIS_PREFIX', 'a:room:b'],
    ['REDIS_CLUSTER_NODES', 'redis-1'],
    ['REDIS_CLUSTER_NODES', 'redis-1:7000,,redis-2:7000'],
    ['ALLOWED_ORIGINS', 'chat.example.com'],
    ['ALLOWED_ORIGINS', 'https://chat.example.com/app'],
    ['ALLOWED_ORIGINS', 'https://chat.example.com,,https://b.example.com'],
    ['ALLOWED_ORIGINS', 'https://*example.com'],
    ['ALLOWED_ORIGINS', 'null'],
    ['RATE_LIMIT_FRAMES_PER_S', '-1'],
    ['RATE_LIMIT_FRAMES_PER_S', '2.5'],
    ['RATE_LIMIT_BURST', '0'],
    ['CONNECT_RATE_PER_IP', 'many'],
    ['CONNECT_BURST_PER_IP', '0'],
    ['MAX_CONNECTIONS_PER_IP', '-5'],
    ['MAX_CONNECTIONS', '10000001'],
    ['TRUSTED_PROXIES', 'load-balancer'],
    ['TRUSTED_PROXIES', '10.0.0.0/33'],
    ['TRUSTED_PROXIES', '10.0.0.1,'],
    ['HISTORY_SIZE', '-1'],
    ['HISTORY_SIZE', '10001'],
    ['HISTORY_TTL_MS', '999'],
    ['HISTORY_MAX_BYTES', '1000'],
    ['MAX_RECOVER', '0'],
    ['IDEMPOTENCY_TTL_MS', 'forever'],
    ['IDEMPOTENCY_MAX_KEYS', '999'],
    ['PRESENCE_LEAVE_GRACE_MS', '-1'],
    ['PRESENCE_LEAVE_GRACE_MS', '3600001'],
    ['PRESENCE_LEAVE_GRACE_MS', '1.5'],
    ['PRESENCE_MAX_MEMBERS', '0'],
    ['PRESENCE_MAX_MEMBERS', '10001'],
    ['PRESENCE_WINDOW_MS', '-1'],
    ['PRESENCE_WINDOW_MS', '10001'],
    ['API_KEYS', 'backend'],
    ['API_KEYS', 'backend:too-short:read'],
    ['API_RATE_LIMIT_PER_S', '-1'],
    ['WEBHOOK_QUEUE_SIZE', '0'],
    ['WEBHOOK_QUEUE_SIZE', '1000001'],
    ['WEBHOOK_TIMEOUT_MS', '99'],
    ['WEBHOOK_TIMEOUT_MS', '1.5'],
    ['WEBHOOK_RETRY_FOR_MS', '86400001'],
    ['WEBHOOK_RETRY_FOR_MS', 'ten'],
    ['WEBHOOK_URL', 'not a url'],
    ['WEBHOOK_SECRET', 'whsec_c2hvcnQ='],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Refusing to start[^]*\\b${name}\\b`));
  });

  it('reads the history and presence settings', () => {
    const config = loadConfig({
      HISTORY_SIZE: '0',
      MAX_RECOVER: '7',
      PRESENCE_LEAVE_GRACE_MS: '0',
      PRESENCE_MAX_MEMBERS: '10000',
      PRESENCE_WINDOW_MS: '0',
    });
    expect(config.history).toMatchObject({ size: 0, maxRecover: 7 });
    expect(config.presence).toEqual({ graceMs: 0, maxMembers: 10000, windowMs: 0 });
  });

  it('has no backend API without API_KEYS, and reads its keys and rate limit with it', () => {
    expect(loadConfig({}).api).toBeUndefined();
    const secret = 'a-secret-of-twenty-four-chars-at-least';
    const { api } = loadConfig({ API_KEYS: `backend:${secret}:publish,read`, API_RATE_LIMIT_PER_S: '0' });
    expect(api).toMatchObject({
      ratePerS: 0,
      keys: [{ id: 'backend', scopes: new Set(['publish', 'read']) }],
    });
  });

  it('never repeats an API secret in its refusal', () => {
    const secret = 'a-secret-of-twenty-four-chars-at-least';
    expect(() => loadConfig({ API_KEYS: `backend:${secret}:write` })).toThrow(/API_KEYS entry 1/);
    expect(() => loadConfig({ API_KEYS: `backend:${secret}:write` })).not.toThrow(new RegExp(secret));
  });

  it('reads the Redis settings of cluster mode', () => {
    expect(
      loadConfig({ REDIS_URL: 'redis://:secret@redis:6379/2', REDIS_PREFIX: 'chat.prod' }),
    ).toMatchObject({
      redisUrl: 'redis://:secret@redis:6379/2',
      redisPrefix: 'chat.prod',
    });
  });

  it('reads the seed nodes of a Redis Cluster, and refuses them beside REDIS_URL', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-1:7000,redis://:pw@redis-2:7001' })).toMatchObject({
      redisUrl: undefined,
      redisClusterNodes: ['redis-1:7000', 'redis://:pw@redis-2:7001'],
    });
    expect(() => loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'r:7000' })).toThrow(
      /REDIS_URL[^]*REDIS_CLUSTER_NODES/,
    );
  });

  describe('limits', () => {
    it('reads the origins and proxies as lists, spaces after the commas allowed', () => {
      expect(
        loadConfig({
          ALLOWED_ORIGINS: 'https://chat.example.com, https://*.example.com',
          TRUSTED_PROXIES: '10.0.0.0/8,::ffff:127.0.0.1, fd00::/8',
        }),
      ).toMatchObject({
        allowedOrigins: ['https://chat.example.com', 'https://*.example.com'],
        trustedProxies: ['10.0.0.0/8', '::ffff:127.0.0.1', 'fd00::/8'],
      });
    });

    it('reads the rates and caps, 0 turning each off', () => {
      expect(
        loadConfig({
          RATE_LIMIT_FRAMES_PER_S: '0',
          RATE_LIMIT_BURST: '20',
          CONNECT_RATE_PER_IP: '5',
          CONNECT_BURST_PER_IP: '20',
          MAX_CONNECTIONS_PER_IP: '100',
          MAX_CONNECTIONS: '50000',
        }),
      ).toMatchObject({
        rateLimitFramesPerS: 0,
        rateLimitBurst: 20,
        connectRatePerIp: 5,
        connectBurstPerIp: 20,
        maxConnectionsPerIp: 100,
        maxConnections: 50000,
      });
    });

    it('makes the connect burst a second of the connect rate when unset', () => {
      expect(loadConfig({ CONNECT_RATE_PER_IP: '5' }).connectBurstPerIp).toBe(5);
    });

    it('refuses a connect burst below the connect rate, naming both', () => {
      expect(() => loadConfig({ CONNECT_RATE_PER_IP: '5', CONNECT_BURST_PER_IP: '4' })).toThrow(
        /CONNECT_BURST_PER_IP[^]*CONNECT_RATE_PER_IP/,
      );
    });

    it('says which entry of a list is bad', () => {
      expect(() =>
        loadConfig({ ALLOWED_ORIGINS: 'https://ok.example.com,https://example.com.evil/x' }),
      ).toThrow(/ALLOWED_ORIGINS: "https:\/\/example.com.evil\/x"/);
      expect(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.1, proxy.internal' })).toThrow(
        /TRUSTED_PROXIES: "proxy.internal"/,
      );
    });
  });

  it('names every bad variable in one error', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(/PORT[^]*LOG_LEVEL|LOG_LEVEL[^]*PORT/);
  });

  it('refuses a message limit that cannot fit in the frame limit, naming both', () => {
    expect(() => loadConfig({ MAX_MESSAGE_LENGTH: '20000' })).toThrow(
      /MAX_PAYLOAD_BYTES[^]*MAX_MESSAGE_LENGTH/,
    );
    expect(() => loadConfig({ MAX_MESSAGE_LENGTH: '20000', MAX_PAYLOAD_BYTES: '81024' })).not.toThrow();
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ PATH: '/usr/bin', port: 'not ours' })).not.toThrow();
  });
});
