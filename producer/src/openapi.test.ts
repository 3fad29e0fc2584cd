import { jobKinds, jobNames, topicNames, topics, type AnyJobKind, type AnyTopic } from '@conveyor/shared';
import { Validator } from '@seriousme/openapi-schema-validator';
import express from 'express';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from './app.ts';
import { componentBase } from './openapi/catalog-schemas.ts';
import { buildOpenApiDocument, openApiDocument, type OpenApiDocument } from './openapi/openapi-document.ts';
import { listAppRoutes, toOpenApiPath, type AppRoute } from './testing/app-routes.ts';
import { documentExamples, documentSchemas } from './testing/openapi-schemas.ts';
import { send, silentLogger, startTestServer, type TestServer } from './testing/test-server.ts';

let server: TestServer;
let document: OpenApiDocument;

beforeAll(async () => {
  server = await startTestServer({ redisUrl: inject('redisUrl') });
  const res = await fetch(`${server.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  document = (await res.json()) as OpenApiDocument;
});

afterAll(async () => {
  await server?.close();
});

type JsonObject = Record<string, any>;
const operation = (path: string, method: string): JsonObject => {
  const found = document.paths[path]?.[method];
  if (!found) throw new Error(`no ${method.toUpperCase()} ${path} in the document`);
  return found;
};
const requestExamples = (path: string, method = 'post'): unknown[] =>
  Object.values(operation(path, method).requestBody.content['application/json'].examples as Record<string, { value: unknown }>).map(
    (example) => example.value,
  );
const kindByName = (name: string): AnyJobKind => (jobKinds as Record<string, AnyJobKind>)[name]!;

describe('the route list read from the express router stack', () => {
  it('puts mounted routers back together, with escaped colons and every method', () => {
    const inner = express.Router();
    inner.get('/:id', () => {});
    inner.delete('/:id', () => {});
    const outer = express.Router();
    outer.use('/b', inner);
    outer.post('/x\\:y', () => {});
    outer.use((_req, _res, next) => next());
    const app = express();
    app.use('/a', outer);
    app.get('/top', () => {});
    app.use(express.Router().put('/', () => {}));

    expect(listAppRoutes(app).map(({ method, openApiPath }) => `${method} ${openApiPath}`)).toEqual([
      'get /a/b/{id}',
      'delete /a/b/{id}',
      'post /a/x:y',
      'get /top',
      'put /',
    ]);
  });

  it('refuses paths it cannot express as OpenAPI templates', () => {
    expect(() => toOpenApiPath('/files/*rest')).toThrow(/wildcards/);
  });
});

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document with a version', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(document.info.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  const undocumented = (routes: AppRoute[]) =>
    routes
      .filter((route) => route.method === 'all' || !document.paths[route.openApiPath]?.[route.method])
      .map((route) => `${route.method.toUpperCase()} ${route.expressPath}`);

  it('documents every route the app registers, and registers every route it documents', () => {
    const app = createApp({ producer: server.producer, logger: silentLogger, bodyLimitBytes: 1_048_576 });
    const routes = listAppRoutes(app);
    expect(routes.length).toBeGreaterThanOrEqual(10);
    expect(undocumented(routes)).toEqual([]);

    // The other way: each documented operation (concrete kind paths included) reaches a route.
    const matchers = routes.map((route) => ({
      method: route.method,
      regex: new RegExp(`^${route.openApiPath.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
    }));
    const unrouted: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) {
        const sample = path.replace(/\{[^}]+\}/g, 'sample-id');
        if (!matchers.some((matcher) => matcher.method === method && matcher.regex.test(sample))) unrouted.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(unrouted).toEqual([]);
  });

  it('notices a route added to the app without documentation', () => {
    const app = createApp({ producer: server.producer, logger: silentLogger, bodyLimitBytes: 1_048_576 });
    const extra = express.Router();
    extra.patch('/:name/:id', () => {});
    app.use('/v1/jobs', extra);
    expect(undocumented(listAppRoutes(app))).toEqual(['PATCH /v1/jobs/:name/:id']);
  });

  it('has one enqueue and one bulk operation per job kind, with its schema, example and policy', () => {
    expect(operation('/v1/jobs/{name}', 'post').parameters[0].schema.enum).toEqual(jobNames);
    for (const name of jobNames) {
      const kind = kindByName(name);
      const enqueue = operation(`/v1/jobs/${name}`, 'post');
      expect(enqueue['x-job-kind']).toBe(name);
      expect(enqueue['x-required-scope']).toBe('enqueue');
      expect(enqueue.security).toEqual([{ apiKey: ['enqueue'] }]);
      expect(enqueue.description).toContain(kind.description);
      expect(enqueue.description).toContain(`Attempts: ${kind.policy.attempts}`);
      expect(enqueue.description).toContain('Timeout:');
      if (kind.dedup) expect(enqueue.description).toContain('Deduplicated');
      for (const field of kind.sensitive ?? []) expect(enqueue.description).toContain(field);
      expect(Object.keys(enqueue.responses)).toEqual(expect.arrayContaining(['200', '201', '401', '403', '409', '413', '415', '422', '429', '503']));
      expect(operation(`/v1/jobs/${name}/bulk`, 'post')['x-job-kind']).toBe(name);
    }
  });

  it('has one publish operation per topic and documents topics and schedules', () => {
    expect(operation('/v1/events/{topic}', 'post').parameters[0].schema.enum).toEqual(topicNames);
    for (const name of topicNames) {
      const publish = operation(`/v1/events/${name}`, 'post');
      expect(publish['x-topic']).toBe(name);
      expect(publish['x-subscribers']).toEqual(topics[name].subscribers.map((subscriber) => subscriber.kind.name));
    }
    for (const [path, method, scope] of [
      ['/v1/topics', 'get', 'read'],
      ['/v1/schedules', 'get', 'read'],
      ['/v1/schedules/{id}', 'get', 'read'],
      ['/v1/schedules/{id}', 'put', 'admin'],
      ['/v1/schedules/{id}', 'delete', 'admin'],
      ['/v1/jobs/{name}/{id}', 'delete', 'admin'],
    ] as const) {
      expect(operation(path, method)['x-required-scope']).toBe(scope);
    }
    expect(operation('/healthz', 'get').security).toEqual([]);
    expect(document.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('gives every example a value that its own schema accepts', () => {
    const schemas = documentSchemas(document);
    const examples = documentExamples(document);
    expect(examples.length).toBeGreaterThan(50);
    const failures = examples.flatMap(({ where, schema, value }) => schemas.errors(schema, value).map((error) => `${where}: ${error}`));
    expect(failures).toEqual([]);
  });

  it("gives request examples whose payloads the catalog's zod schemas accept", () => {
    const checkKind = (name: string, data: unknown) => expect(kindByName(name).schema.safeParse(data).error).toBeUndefined();
    const checkTopic = (topic: AnyTopic, data: unknown) => expect(topic.schema.safeParse(data).error).toBeUndefined();
    let checked = 0;
    for (const name of jobNames) {
      for (const body of requestExamples(`/v1/jobs/${name}`) as { data: unknown }[]) (checkKind(name, body.data), checked++);
      for (const body of requestExamples(`/v1/jobs/${name}/bulk`) as { jobs: { data: unknown }[] }[]) {
        for (const item of body.jobs) (checkKind(name, item.data), checked++);
      }
    }
    for (const [name, example] of Object.entries(operation('/v1/jobs/{name}', 'post').requestBody.content['application/json'].examples as Record<string, { value: { data: unknown } }>)) {
      (checkKind(name, example.value.data), checked++);
    }
    for (const body of requestExamples('/v1/jobs:bulk') as { jobs: { name: string; data: unknown }[] }[]) {
      for (const item of body.jobs) (checkKind(item.name, item.data), checked++);
    }
    for (const name of topicNames) {
      for (const body of requestExamples(`/v1/events/${name}`) as { data: unknown }[]) (checkTopic(topics[name], body.data), checked++);
    }
    for (const body of requestExamples('/v1/schedules/{id}', 'put') as { name: string; data: unknown }[]) (checkKind(body.name, body.data), checked++);
    expect(checked).toBeGreaterThanOrEqual(jobNames.length * 4 + topicNames.length);
  });

  it('gives request examples that the running server accepts', async () => {
    const accepted = async (method: string, path: string, body: unknown) => {
      const res = await send(method, `${server.url}${path}`, { body });
      expect([200, 201], `${method} ${path} ${JSON.stringify(res.json)}`).toContain(res.status);
      const schemas = documentSchemas(document);
      const template = path.startsWith('/v1/schedules/') ? '/v1/schedules/{id}' : path;
      expect(schemas.errors(schemas.responseSchema(method.toLowerCase(), template, res.status), res.json)).toEqual([]);
    };
    for (const name of jobNames) {
      for (const body of requestExamples(`/v1/jobs/${name}`)) await accepted('POST', `/v1/jobs/${name}`, body);
      for (const body of requestExamples(`/v1/jobs/${name}/bulk`)) await accepted('POST', `/v1/jobs/${name}/bulk`, body);
    }
    for (const body of requestExamples('/v1/jobs:bulk')) await accepted('POST', '/v1/jobs:bulk', body);
    for (const name of topicNames) for (const body of requestExamples(`/v1/events/${name}`)) await accepted('POST', `/v1/events/${name}`, body);
    for (const body of requestExamples('/v1/schedules/{id}', 'put')) await accepted('PUT', '/v1/schedules/openapi-example', body);
    expect((await send('DELETE', `${server.url}/v1/schedules/openapi-example`)).status).toBe(204);
  });

  it('is built once per process and reflects the configured limits', () => {
    expect(openApiDocument()).toBe(openApiDocument());
    const small = buildOpenApiDocument({ bodyLimitBytes: 4_096, bulkMaxJobs: 7 });
    const bulk = small.components.schemas[`${componentBase(jobNames[0]!)}BulkRequest`] as JsonObject;
    expect(bulk.properties.jobs.maxItems).toBe(7);
    expect(JSON.stringify(small.paths)).toContain('4,096 bytes');
  });
});

describe('GET /docs', () => {
  it('answers an HTML page naming every operation and job kind, whose assets load from this server only', async () => {
    const res = await fetch(`${server.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    for (const item of Object.values(document.paths)) {
      for (const op of Object.values(item)) expect(html).toContain(`id="op-${String(op.operationId)}"`);
    }
    for (const name of [...jobNames, ...topicNames]) expect(html).toContain(name);

    // What the page makes a browser fetch: href/src attributes, and url()/@import in its CSS.
    const references = [...html.matchAll(/\s(?:href|src)="([^"]*)"/g)].map((match) => match[1]!);
    const assets = references.filter((ref) => !ref.startsWith('#'));
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/docs.css', '/openapi.json']));
    for (const asset of assets) {
      expect(asset, 'no external URL').toMatch(/^\/(?!\/)/);
      const loaded = await fetch(`${server.url}${asset}`);
      expect(loaded.status, asset).toBe(200);
      const body = await loaded.text();
      if (asset.endsWith('.css')) {
        expect(loaded.headers.get('content-type')).toMatch(/^text\/css/);
        const cssRefs = [...body.matchAll(/url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)/g)].map((match) => match[1] ?? match[2]);
        expect(cssRefs.filter((ref) => /^(https?:)?\/\//.test(ref ?? ''))).toEqual([]);
        expect(body).not.toMatch(/https?:\/\//);
      }
    }
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<(link|img|iframe)[^>]+(href|src)="(https?:)?\/\//i);
  });

  it('answers an unknown asset 404 in the error envelope', async () => {
    const res = await send('GET', `${server.url}/docs/assets/nope.js`);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: { code: 'not_found', message: expect.any(String), details: expect.any(Object) } });
  });
});
