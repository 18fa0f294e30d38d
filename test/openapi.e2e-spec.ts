// ajv checks bodies against the document's schemas.
import Ajv from 'ajv';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { joinAll, TestClient } from './support/ws-client';

interface Operation {
  parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
  security?: Array<Record<string, string[]>>;
}
interface Document {
  openapi: string;
  paths: Record<string, { get: Operation }>;
  components: { schemas: Record<string, object>; securitySchemes?: Record<string, object> };
}

/** The body of a response as the document describes it, checked with ajv (refs point into components). */
function expectValid(doc: { components: object }, operation: Operation, status: number, body: unknown): void {
  const schema = operation.responses[status].content!['application/json'].schema;
  // OpenAPI 3.0 schemas are JSON Schema plus a few annotations (`example`).
  const validate = new Ajv({ strict: false }).compile({ ...schema, components: doc.components });
  expect({ body, valid: validate(body), errors: validate.errors }).toMatchObject({ valid: true });
}

describe('the OpenAPI document at /docs-json (e2e)', () => {
  let server: RunningApp;
  let doc: Document;
  let client: TestClient;

  beforeAll(async () => {
    server = await startApp();
    client = await TestClient.connect(server.wsUrl);
    await joinAll([client], 'room1');
    doc = (await request(server.httpUrl).get('/docs-json').expect(200)).body;
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('lists every HTTP endpoint with each response it gives', () => {
    const responses = Object.fromEntries(
      Object.entries(doc.paths).map(([path, item]) => [path, Object.keys(item.get.responses).sort()]),
    );
    expect(responses).toEqual({
      '/rooms': ['200', '400'],
      '/rooms/{name}': ['200', '400', '404'],
      '/rooms/{name}/members': ['200', '400', '404', '503'],
      '/health': ['200'],
      '/health/ready': ['200', '503'],
      '/asyncapi.json': ['200'],
      '/metrics': ['200'],
    });
    // Without API_KEYS there is no /api/v1, and no scheme for its keys.
    expect(doc.components.securitySchemes).toBeUndefined();
    for (const item of Object.values(doc.paths)) {
      for (const response of Object.values(item.get.responses)) expect(response.description).not.toBe('');
    }
  });

  it('gives the query parameters of GET /rooms their limits', () => {
    const params = Object.fromEntries(doc.paths['/rooms'].get.parameters.map((p) => [p.name, p]));
    expect(params.limit).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    });
    expect(params.offset).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 0, default: 0 },
    });
    expect(doc.paths['/rooms/{name}'].get.parameters).toEqual([
      expect.objectContaining({ name: 'name', in: 'path', required: true }),
    ]);
  });

  it('gives GET /rooms/{name}/members the room name and the paging of GET /rooms', () => {
    const params = Object.fromEntries(
      doc.paths['/rooms/{name}/members'].get.parameters.map((p) => [p.name, p]),
    );
    expect(Object.keys(params).sort()).toEqual(['limit', 'name', 'offset']);
    expect(params.name).toEqual(doc.paths['/rooms/{name}'].get.parameters[0]);
    const rooms = Object.fromEntries(doc.paths['/rooms'].get.parameters.map((p) => [p.name, p]));
    expect(params.limit).toMatchObject({ ...rooms.limit, description: expect.any(String) });
    expect(params.offset).toMatchObject({ in: 'query', required: false, schema: rooms.offset.schema });
  });

  it.each([
    ['/rooms', '/rooms', 200],
    ['/rooms', '/rooms?limit=1001', 400],
    ['/rooms/{name}', '/rooms/room1', 200],
    ['/rooms/{name}', '/rooms/bad%20name', 400],
    ['/rooms/{name}', '/rooms/nobody-here', 404],
    ['/rooms/{name}/members', '/rooms/room1/members', 200],
    ['/rooms/{name}/members', '/rooms/room1/members?offset=-1', 400],
    ['/rooms/{name}/members', '/rooms/bad%20name/members', 400],
    ['/rooms/{name}/members', '/rooms/nobody-here/members', 404],
    ['/health', '/health', 200],
    ['/health/ready', '/health/ready', 200],
  ])('describes the body of GET %s as the app sends it (%s, %i)', async (path, url, status) => {
    const res = await request(server.httpUrl).get(url).expect(status);
    expectValid(doc, doc.paths[path].get, status, res.body);
  });

  it('describes GET /metrics as the text Prometheus scrapes', async () => {
    const res = await request(server.httpUrl).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(Object.keys(doc.paths['/metrics'].get.responses[200].content!)).toEqual(['text/plain']);
  });

  it('serves the Swagger UI at /docs', async () => {
    const res = await request(server.httpUrl).get('/docs').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('swagger-ui');
  });
});

type Method = 'get' | 'post' | 'delete';
interface ApiDocument {
  paths: Record<string, Partial<Record<Method, Operation>>>;
  components: Document['components'];
}

describe('the OpenAPI document with the backend API on (API_KEYS) (e2e)', () => {
  const SECRET = 'openapi-spec-key-0123456789abcdef';
  // Read by the decorators of src/api/api-route.ts.
  const READ = ['200', '400', '401', '403', '429', '503'];
  const POST = ['202', '400', '401', '403', '409', '413', '422', '429', '503'];
  const DELETE = ['202', '400', '401', '403', '413', '429', '503'];
  let server: RunningApp;
  let doc: ApiDocument;
  let member: TestClient;
  /** Each /api/v1 operation, as `METHOD /path`. */
  const apiOperations = () =>
    Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, item]) =>
        Object.entries(item).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const),
      );

  beforeAll(async () => {
    server = await startApp({ API_KEYS: `docs:${SECRET}:publish,read,control`, API_RATE_LIMIT_PER_S: '0' });
    member = await TestClient.connect(server.wsUrl);
    await joinAll([member], 'room1');
    doc = (await request(server.httpUrl).get('/docs-json').expect(200)).body;
  });
  afterAll(async () => {
    member.close();
    await server.close();
  });

  it('lists the seven /api/v1 operations with each response they give, errors in the API error body', () => {
    const responses = Object.fromEntries(
      apiOperations().map(([operation, op]) => [operation, Object.keys(op.responses).sort()]),
    );
    expect(responses).toEqual({
      'POST /api/v1/rooms/{name}/messages': POST,
      'GET /api/v1/rooms/{name}/messages': READ,
      'POST /api/v1/broadcast': POST,
      'GET /api/v1/rooms': READ,
      'GET /api/v1/rooms/{name}/members': READ,
      'DELETE /api/v1/rooms/{name}/members/{sub}': DELETE,
      'POST /api/v1/users/{sub}/disconnect': POST,
    });
    for (const [operation, op] of apiOperations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description).not.toBe('');
        if (Number(status) >= 400) {
          expect({ operation, status, schema: response.content!['application/json'].schema }).toEqual({
            operation,
            status,
            schema: { $ref: '#/components/schemas/ApiErrorResponse' },
          });
        }
      }
    }
    // The public endpoints are those of a service without API_KEYS.
    expect(
      Object.keys(doc.paths)
        .filter((path) => !path.startsWith('/api/v1/'))
        .sort(),
    ).toEqual([
      '/asyncapi.json',
      '/health',
      '/health/ready',
      '/metrics',
      '/rooms',
      '/rooms/{name}',
      '/rooms/{name}/members',
    ]);
  });

  it('declares bearer auth, and every /api/v1 operation and no other requires it', () => {
    expect(doc.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    for (const [operation, op] of apiOperations()) {
      expect({ operation, security: op.security }).toEqual({ operation, security: [{ bearer: [] }] });
    }
    for (const [path, item] of Object.entries(doc.paths).filter(([p]) => !p.startsWith('/api/v1/'))) {
      expect({ path, security: item.get!.security }).toEqual({ path, security: undefined });
    }
  });

  it('documents Idempotency-Key, optional, on each POST and on nothing else', () => {
    for (const [operation, op] of apiOperations()) {
      const header = (op.parameters ?? []).find((p) => p.in === 'header' && p.name === 'Idempotency-Key');
      if (operation.startsWith('POST ')) {
        expect({ operation, header }).toMatchObject({
          operation,
          header: { required: false, description: expect.stringContaining('IDEMPOTENCY_TTL_MS') },
        });
      } else {
        expect({ operation, header }).toEqual({ operation, header: undefined });
      }
    }
  });

  it.each<[Method, string, string, number, object | undefined, boolean]>([
    ['post', '/api/v1/rooms/{name}/messages', '/api/v1/rooms/room1/messages', 202, { message: 'hi' }, true],
    ['post', '/api/v1/broadcast', '/api/v1/broadcast', 202, { message: 'hi all', from: 'Ops' }, true],
    ['get', '/api/v1/rooms/{name}/messages', '/api/v1/rooms/room1/messages?limit=10', 200, undefined, true],
    ['get', '/api/v1/rooms/{name}/members', '/api/v1/rooms/room1/members', 200, undefined, true],
    ['get', '/api/v1/rooms/{name}/members', '/api/v1/rooms/nobody-here/members', 200, undefined, true],
    ['get', '/api/v1/rooms', '/api/v1/rooms?prefix=room', 200, undefined, true],
    ['post', '/api/v1/users/{sub}/disconnect', '/api/v1/users/u-1/disconnect', 202, {}, true],
    ['delete', '/api/v1/rooms/{name}/members/{sub}', '/api/v1/rooms/room1/members/u-1', 202, {}, true],
    ['get', '/api/v1/rooms', '/api/v1/rooms', 401, undefined, false],
    ['post', '/api/v1/rooms/{name}/messages', '/api/v1/rooms/room1/messages', 400, { mesage: 'typo' }, true],
  ])(
    'describes the body of %s %s as the app sends it (%s, %i)',
    async (method, path, url, status, body, withKey) => {
      let req = request(server.httpUrl)[method](url);
      if (withKey) req = req.set('Authorization', `Bearer ${SECRET}`);
      const res = await (body === undefined ? req : req.send(body)).expect(status);
      expectValid(doc, doc.paths[path][method]!, status, res.body);
    },
  );
});
