/**
 * The producer's OpenAPI 3.1 document, generated from the catalog (job kinds, topics,
 * schedules) and the answer schemas, so that it cannot drift from what the server checks.
 * Built once per process per set of limits: `openApiDocument()` is what `GET /openapi.json`
 * serves.
 */
import { z } from 'zod';
import producerPackage from '../../package.json' with { type: 'json' };
import { answerComponents } from './answers.ts';
import { catalogComponents, type DocumentLimits } from './catalog-schemas.ts';
import { errorResponses, type ErrorCode } from './error-responses.ts';
import { jsonSchemaOf, type HoistedDefinitions, type JsonSchema } from './json-schema.ts';
import { operationSpecs, type OperationSpec } from './operations.ts';

export type { DocumentLimits } from './catalog-schemas.ts';

/** The OpenAPI document as plain JSON. */
export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
};

export const defaultDocumentLimits: DocumentLimits = { bodyLimitBytes: 1_048_576, bulkMaxJobs: 1_000 };

/** Name of the security scheme: an API key sent as `Authorization: Bearer <key>`. */
export const SECURITY_SCHEME = 'apiKey';

const tags = [
  { name: 'jobs', description: 'Enqueue jobs of the catalog\'s kinds, read their status, cancel them.' },
  { name: 'events', description: 'Publish events: each subscribed job kind gets one job.' },
  { name: 'topics', description: 'The topics and who subscribes to them.' },
  { name: 'schedules', description: 'Recurring schedules: cron or fixed interval.' },
  { name: 'service', description: 'Health, metrics and this documentation; no API key needed.' },
];

function operationObject(spec: OperationSpec, limits: DocumentLimits): Record<string, unknown> {
  const errors: ErrorCode[] = [...(spec.errors ?? [])];
  if (spec.requestBody) errors.push('invalid_json', 'payload_too_large', 'unsupported_media_type', 'validation_failed');
  if (spec.scope) errors.push('unauthorized', 'forbidden', 'rate_limited');
  // Everything under /v1 reads or writes Redis, except the topic list (the catalog's own).
  if (spec.path.startsWith('/v1/') && spec.tag !== 'topics') errors.push('redis_unavailable');
  // Durable enqueue waits for a replica on every path that adds jobs.
  if (spec.method === 'post' && (spec.tag === 'jobs' || spec.tag === 'events') && !spec.path.includes('cancel')) errors.push('not_replicated');

  const scopeNote = spec.scope
    ? `Needs an API key with the \`${spec.scope}\` scope${spec.scope === 'admin' ? '' : ' (or `admin`)'}.`
    : 'Needs no API key.';
  const bodyNote = spec.requestBody ? ` Body: \`application/json\`, at most ${limits.bodyLimitBytes.toLocaleString('en')} bytes.` : '';
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    description: `${spec.description ? `${spec.description}\n\n` : ''}${scopeNote}${bodyNote}`,
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.requestBody
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: spec.requestBody.schema, examples: spec.requestBody.examples } },
          },
        }
      : {}),
    responses: { ...spec.responses, ...errorResponses(errors) },
    security: spec.scope ? [{ [SECURITY_SCHEME]: [spec.scope] }] : [],
    ...(spec.scope ? { 'x-required-scope': spec.scope } : {}),
    ...spec.extensions,
  };
}

/** Builds the document afresh; prefer the cached `openApiDocument()`. */
export function buildOpenApiDocument(limits: DocumentLimits = defaultDocumentLimits): OpenApiDocument {
  const hoisted: HoistedDefinitions = {};
  const answers = Object.fromEntries(
    Object.entries(answerComponents).map(([name, schema]) => [name, jsonSchemaOf(schema as z.ZodType, name, hoisted)]),
  );
  const schemas = { ...answers, ...catalogComponents(limits), ...hoisted };

  const paths: OpenApiDocument['paths'] = {};
  for (const spec of operationSpecs()) {
    const path = (paths[spec.path] ??= {});
    if (path[spec.method]) throw new Error(`two operations for ${spec.method.toUpperCase()} ${spec.path}`);
    path[spec.method] = operationObject(spec, limits);
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Conveyor producer API',
      version: producerPackage.version,
      description: [
        'Enqueue jobs of the catalog\'s kinds, publish events to topics, manage recurring schedules.',
        'Every error answers in one envelope: `{"error": {"code", "message", "details"}}`.',
        'Bodies are `application/json`. When the producer has API keys configured (PRODUCER_API_KEYS), routes under `/v1` need one (`Authorization: Bearer <key>`) with the scope each operation names: `read` for GET, `enqueue` for POST, `admin` for PUT and DELETE (`admin` implies the others). A rate limit, when configured, answers 429 with `Retry-After`.',
      ].join('\n\n'),
    },
    servers: [{ url: '/', description: 'This producer' }],
    tags,
    paths,
    components: {
      schemas,
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key with one or more scopes: `read`, `enqueue`, `admin`. The scope an operation needs is in its `security` and `x-required-scope`.',
        },
      },
    },
  };
}

const built = new Map<string, OpenApiDocument>();

/** The document for these limits, built on first use and then reused for the life of the process. */
export function openApiDocument(limits: Partial<DocumentLimits> = {}): OpenApiDocument {
  const full: DocumentLimits = {
    bodyLimitBytes: limits.bodyLimitBytes ?? defaultDocumentLimits.bodyLimitBytes,
    bulkMaxJobs: limits.bulkMaxJobs ?? defaultDocumentLimits.bulkMaxJobs,
  };
  const key = `${full.bodyLimitBytes}/${full.bulkMaxJobs}`;
  let document = built.get(key);
  if (!document) {
    document = buildOpenApiDocument(full);
    built.set(key, document);
  }
  return document;
}
