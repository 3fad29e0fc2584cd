/**
 * The API's error codes as OpenAPI responses: one response per status, listing the codes it
 * can carry, each with an example in the error envelope (`http-error.ts` is what answers them).
 */
import { jobNames, topicNames } from '@conveyor/shared';
import { ref } from './json-schema.ts';

interface ErrorCodeSpec {
  status: number;
  when: string;
  example: { message: string; details: Record<string, unknown> };
}

/** Every error code the API answers with, by code. */
export const errorCodes = {
  invalid_json: {
    status: 400,
    when: 'the body is not valid JSON',
    example: { message: 'the body is not valid JSON: Unexpected end of JSON input', details: {} },
  },
  bad_request: {
    status: 400,
    when: 'the request is malformed in another way (a bad header, a bad URL encoding)',
    example: { message: 'bad request', details: {} },
  },
  unauthorized: {
    status: 401,
    when: 'no API key, or an unknown one',
    example: { message: 'this route needs an API key: send Authorization: Bearer <key>', details: {} },
  },
  forbidden: {
    status: 403,
    when: "the API key lacks the route's scope",
    example: { message: 'API key "ci" lacks the "admin" scope this request needs', details: { keyId: 'ci', requiredScope: 'admin' } },
  },
  unknown_job: {
    status: 404,
    when: 'no job kind of that name (`details.known` lists them)',
    example: { message: 'unknown job "email.sned"', details: { name: 'email.sned', known: jobNames } },
  },
  job_not_found: {
    status: 404,
    when: 'no job of that id (and kind)',
    example: { message: 'no job "42" of kind "email.send"', details: { name: 'email.send', id: '42' } },
  },
  unknown_topic: {
    status: 404,
    when: 'no topic of that name (`details.known` lists them)',
    example: { message: 'unknown topic "user.signedup"', details: { topic: 'user.signedup', known: topicNames } },
  },
  schedule_not_found: {
    status: 404,
    when: 'no schedule of that id',
    example: { message: 'no schedule "nightly"', details: { id: 'nightly' } },
  },
  not_found: {
    status: 404,
    when: 'no route for the method and path',
    example: { message: 'no route for GET /v1/nope', details: { method: 'GET', path: '/v1/nope' } },
  },
  idempotency_conflict: {
    status: 409,
    when: 'a job id, idempotency key or event id reused with a different payload',
    example: { message: 'job "order-42" on queue "email" was already enqueued with a different payload', details: { id: 'order-42', queue: 'email' } },
  },
  job_active: {
    status: 409,
    when: 'the job is running: it cannot be cancelled',
    example: { message: 'job "42" of kind "email.send" is running', details: { name: 'email.send', id: '42', state: 'active' } },
  },
  job_finished: {
    status: 409,
    when: 'the job completed, failed or was dead-lettered: it cannot be cancelled',
    example: { message: 'job "42" of kind "email.send" is completed', details: { name: 'email.send', id: '42', state: 'completed' } },
  },
  job_scheduled: {
    status: 409,
    when: "the job is a recurring schedule's pending next run: change or delete the schedule instead",
    example: {
      message: 'job "repeat:digest.hourly:1767225600000" of kind "email.send" is the next run of schedule "digest.hourly"; change or delete the schedule instead',
      details: { name: 'email.send', id: 'repeat:digest.hourly:1767225600000', state: 'delayed', schedule: 'digest.hourly' },
    },
  },
  payload_too_large: {
    status: 413,
    when: 'the body exceeds BODY_LIMIT_BYTES',
    example: { message: 'the body is larger than 1048576 bytes', details: { limitBytes: 1_048_576 } },
  },
  too_many_items: {
    status: 413,
    when: 'a bulk request carries more than BULK_MAX_JOBS items',
    example: { message: 'a bulk request may carry at most 1000 jobs, got 1001; split it', details: { count: 1001, limit: 1000 } },
  },
  unsupported_media_type: {
    status: 415,
    when: 'the body is not `application/json`',
    example: { message: 'expected a JSON body with Content-Type: application/json', details: { expected: 'application/json' } },
  },
  validation_failed: {
    status: 422,
    when: 'the payload or options break the schema, or carry a `__proto__`/`constructor`/`prototype` key (`details.issues` names each field)',
    example: {
      message: 'invalid job: data.to: Invalid email address',
      details: { issues: [{ path: 'data.to', message: 'Invalid email address', code: 'invalid_format' }] },
    },
  },
  rate_limited: {
    status: 429,
    when: 'too many requests for this API key; retry after `Retry-After` seconds',
    example: { message: 'rate limit exceeded; retry after 2 s', details: { retryAfterSec: 2, limit: 100 } },
  },
  redis_unavailable: {
    status: 503,
    when: 'Redis is unreachable; retry after `Retry-After` seconds',
    example: { message: 'the job store is unavailable; retry shortly', details: { retryAfterSec: 1 } },
  },
  not_replicated: {
    status: 503,
    when: 'durable enqueue (PRODUCER_DURABLE_ENQUEUE) only: the jobs reached the Redis master but no replica acknowledged them in time; retry with the same job ids or idempotency keys after `Retry-After` seconds',
    example: {
      message: 'the job store took the job but 0 of the 1 required replica(s) acknowledged within 200 ms, so it is not durable yet; retry with the same job id or idempotency key',
      details: { retryAfterSec: 1, acknowledged: 0, required: 1, timeoutMs: 200, ids: ['idem-3f2a'] },
    },
  },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof errorCodes;

const wwwAuthenticateHeader = {
  description: 'The bearer challenge: `Bearer realm="conveyor"`.',
  schema: { type: 'string' },
};

const retryAfterHeader = {
  description: 'Seconds to wait before retrying.',
  schema: { type: 'integer', minimum: 0 },
};

/** The `responses` entries for these codes, grouped by status, each code an example. */
export function errorResponses(codes: readonly ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const { status } = errorCodes[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, unknown> = {};
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers = status === 429 || status === 503 ? { 'Retry-After': retryAfterHeader } : status === 401 ? { 'WWW-Authenticate': wwwAuthenticateHeader } : undefined;
    responses[String(status)] = {
      description: statusCodes.map((code) => `\`${code}\`: ${errorCodes[code].when}`).join('; '),
      ...(headers ? { headers } : {}),
      content: {
        'application/json': {
          schema: ref('ErrorEnvelope'),
          examples: Object.fromEntries(
            statusCodes.map((code) => [code, { summary: errorCodes[code].when, value: { error: { code, ...errorCodes[code].example } } }]),
          ),
        },
      },
    };
  }
  return responses;
}
