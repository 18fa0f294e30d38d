// ajv checks bodies against the document's schemas.
import Ajv from 'ajv';
import request from 'supertest';
import { type RunningApp, startApp } from './support/app';
import { joinAll, TestClient } from './support/ws-client';

interface Operation {
  parameters: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, { get: Operation }>;
  components: { schemas: Record<string, object> };
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
    const schema = doc.paths[path].get.responses[status].content!['application/json'].schema;
    // OpenAPI 3.0 schemas are JSON Schema plus a few annotations (`example`); refs point into components.
    const validate = new Ajv({ strict: false }).compile({ ...schema, components: doc.components });
    expect({ body: res.body, valid: validate(res.body), errors: validate.errors }).toMatchObject({
      valid: true,
    });
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
