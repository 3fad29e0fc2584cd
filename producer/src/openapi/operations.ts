/**
 * The API's operations, one block per route of `app.ts` (plus one concrete path per job kind and
 * topic, so that each has its own schema and example). `openapi-document.ts` adds what every
 * operation shares: security, scope and the common error responses.
 */
import { jobNames, topicNames } from '@conveyor/shared';
import {
  allKinds,
  allTopics,
  describeKind,
  idempotencyKeySchema,
  jobIdPathPattern,
  kindNames,
  policyExtension,
  scheduleIdPattern,
  topicComponentNames,
} from './catalog-schemas.ts';
import type { ErrorCode } from './error-responses.ts';
import { ref, type JsonSchema } from './json-schema.ts';
import {
  bulkResponses,
  enqueueResponses,
  jobStatusExample,
  json,
  kindExamples,
  publishResponses,
  scheduleExample,
  type Example,
} from './success-responses.ts';

export type { Example } from './success-responses.ts';

/** The API-key scope a route needs: GET → read, POST → enqueue, PUT/DELETE → admin. */
export type Scope = 'read' | 'enqueue' | 'admin';

export interface OperationSpec {
  path: string;
  method: 'get' | 'post' | 'put' | 'delete';
  operationId: string;
  tag: 'jobs' | 'events' | 'topics' | 'schedules' | 'service';
  summary: string;
  description?: string;
  /** Absent: the route needs no API key. */
  scope?: Scope;
  parameters?: unknown[];
  requestBody?: { schema: JsonSchema; examples: Record<string, Example> };
  /** Success responses; errors come from `errors` and the shared ones. */
  responses: Record<string, unknown>;
  errors?: ErrorCode[];
  extensions?: Record<string, unknown>;
}

const params = {
  jobName: { name: 'name', in: 'path', required: true, description: 'A job kind of the catalog.', schema: { type: 'string', enum: jobNames } },
  jobId: {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The job id the enqueue answered, or a schedule\'s job id `repeat:<schedule id>:<fire time in ms>`.',
    schema: { type: 'string', pattern: jobIdPathPattern },
  },
  topic: { name: 'topic', in: 'path', required: true, description: 'A topic of the catalog.', schema: { type: 'string', enum: topicNames } },
  scheduleId: {
    name: 'id',
    in: 'path',
    required: true,
    description: 'Letters, digits, `.`, `_`, `-`; 1–128 characters.',
    schema: { type: 'string', pattern: scheduleIdPattern },
  },
  idempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description: 'A retried request with the same key returns the job of the first (200) instead of adding one: the job id is derived from the key.',
    schema: idempotencyKeySchema,
  },
  partial: {
    name: 'partial',
    in: 'query',
    required: false,
    description: '`true`: enqueue the valid items and answer 207 with a per-item error for each bad one, instead of refusing the whole request.',
    schema: { type: 'string', enum: ['true', 'false'] },
  },
};

/** Every operation of the API, in the order the document and the docs page list them. */
export function operationSpecs(): OperationSpec[] {
  const kinds = allKinds();
  const schedule = scheduleExample();
  const specs: OperationSpec[] = [
    {
      path: '/v1/jobs/{name}',
      method: 'post',
      operationId: 'enqueueJob',
      tag: 'jobs',
      summary: 'Enqueue one job of any kind',
      description: 'The kind-specific paths below carry each kind\'s schema and policy; this one takes any kind named in the path.',
      scope: 'enqueue',
      parameters: [params.jobName, params.idempotencyKey],
      requestBody: { schema: ref('EnqueueRequest'), examples: kindExamples(kinds) },
      responses: enqueueResponses(),
      errors: ['unknown_job', 'idempotency_conflict'],
    },
  ];
  for (const kind of kinds) {
    specs.push(
      {
        path: `/v1/jobs/${kind.name}`,
        method: 'post',
        operationId: `enqueue${kindNames.data(kind).replace(/Data$/, '')}`,
        tag: 'jobs',
        summary: `Enqueue one \`${kind.name}\` job`,
        description: describeKind(kind),
        scope: 'enqueue',
        parameters: [params.idempotencyKey],
        requestBody: {
          schema: ref(kindNames.enqueue(kind)),
          examples: { example: { value: { data: kind.example } }, delayed: { summary: 'Run in one minute', value: { data: kind.example, delayMs: 60_000 } } },
        },
        responses: enqueueResponses(kind),
        errors: ['idempotency_conflict'],
        extensions: { 'x-job-kind': kind.name, 'x-job-policy': policyExtension(kind) },
      },
      {
        path: `/v1/jobs/${kind.name}/bulk`,
        method: 'post',
        operationId: `enqueue${kindNames.data(kind).replace(/Data$/, '')}Bulk`,
        tag: 'jobs',
        summary: `Enqueue many \`${kind.name}\` jobs at once`,
        description: `All or nothing: one bad item answers 422 naming it (\`jobs.3.data.to\`) and nothing is enqueued, unless \`?partial=true\`.\n\n${describeKind(kind)}`,
        scope: 'enqueue',
        parameters: [params.partial],
        requestBody: { schema: ref(kindNames.bulk(kind)), examples: { example: { value: { jobs: [{ data: kind.example }, { data: kind.example, delayMs: 60_000 }] } } } },
        responses: bulkResponses([kind, kind]),
        errors: ['too_many_items', 'idempotency_conflict'],
        extensions: { 'x-job-kind': kind.name, 'x-job-policy': policyExtension(kind) },
      },
    );
  }
  specs.push(
    {
      path: '/v1/jobs/{name}/bulk',
      method: 'post',
      operationId: 'enqueueBulk',
      tag: 'jobs',
      summary: 'Enqueue many jobs of one kind',
      description: 'All or nothing unless `?partial=true`; see the kind-specific paths for schemas.',
      scope: 'enqueue',
      parameters: [params.jobName, params.partial],
      requestBody: {
        schema: { type: 'object', properties: { jobs: { type: 'array', items: { type: 'object' } } }, required: ['jobs'] },
        examples: Object.fromEntries(kinds.map((kind) => [kind.name, { value: { jobs: [{ data: kind.example }] } }])),
      },
      responses: bulkResponses(kinds.slice(0, 1)),
      errors: ['unknown_job', 'too_many_items', 'idempotency_conflict'],
    },
    {
      path: '/v1/jobs:bulk',
      method: 'post',
      operationId: 'enqueueMixedBulk',
      tag: 'jobs',
      summary: 'Enqueue many jobs of mixed kinds',
      description: 'Each item names its kind. All or nothing unless `?partial=true`.',
      scope: 'enqueue',
      parameters: [params.partial],
      requestBody: { schema: ref('MixedBulkRequest'), examples: { mixed: { value: { jobs: kinds.map((kind) => ({ name: kind.name, data: kind.example })) } } } },
      responses: bulkResponses(kinds),
      errors: ['unknown_job', 'too_many_items', 'idempotency_conflict'],
    },
    {
      path: '/v1/jobs/{name}/{id}',
      method: 'get',
      operationId: 'getJob',
      tag: 'jobs',
      summary: "Read a job's status",
      description: 'State, progress, attempts, and the result or the failure; a job that failed for good is `dead-lettered`.',
      scope: 'read',
      parameters: [params.jobName, params.jobId],
      responses: {
        '200': json('The job.', ref('JobStatus'), Object.fromEntries(kinds.map((kind) => [kind.name, { value: jobStatusExample(kind) }]))),
      },
      errors: ['unknown_job', 'job_not_found'],
    },
    {
      path: '/v1/jobs/{name}/{id}',
      method: 'delete',
      operationId: 'cancelJob',
      tag: 'jobs',
      summary: 'Cancel a job that has not started',
      description:
        "Removes a waiting, delayed or prioritized job. A running job answers 409 `job_active`; a finished one 409 `job_finished`; a recurring schedule's pending next run 409 `job_scheduled` (change or delete the schedule instead).",
      scope: 'admin',
      parameters: [params.jobName, params.jobId],
      responses: {
        '200': json('Cancelled.', ref('CancelResult'), {
          cancelled: { value: { id: '1', name: kinds[0]!.name, queue: kinds[0]!.queue, state: 'cancelled', previousState: 'waiting' } },
        }),
      },
      errors: ['unknown_job', 'job_not_found', 'job_active', 'job_finished', 'job_scheduled'],
    },
    {
      path: '/v1/events/{topic}',
      method: 'post',
      operationId: 'publishEvent',
      tag: 'events',
      summary: 'Publish an event to a topic',
      description: 'One job per subscribed kind. Publishing the same event id twice creates no second set of jobs (200).',
      scope: 'enqueue',
      parameters: [params.topic],
      requestBody: {
        schema: { anyOf: allTopics().map((topic) => ref(topicComponentNames.publish(topic))) },
        examples: Object.fromEntries(allTopics().map((topic) => [topic.name, { value: { id: 'evt_1', data: topic.example } }])),
      },
      responses: publishResponses(allTopics()),
      errors: ['unknown_topic', 'idempotency_conflict'],
    },
  );
  for (const topic of allTopics()) {
    specs.push({
      path: `/v1/events/${topic.name}`,
      method: 'post',
      operationId: `publish${topicComponentNames.event(topic).replace(/Event$/, '')}`,
      tag: 'events',
      summary: `Publish \`${topic.name}\``,
      description: `${topic.description}\n\nSubscribers, one job each: ${topic.subscribers.map(({ kind }) => `\`${kind.name}\``).join(', ')}.`,
      scope: 'enqueue',
      requestBody: { schema: ref(topicComponentNames.publish(topic)), examples: { example: { value: { id: 'evt_1', data: topic.example } } } },
      responses: publishResponses([topic]),
      errors: ['idempotency_conflict'],
      extensions: { 'x-topic': topic.name, 'x-subscribers': topic.subscribers.map(({ kind }) => kind.name) },
    });
  }
  specs.push(
    {
      path: '/v1/topics',
      method: 'get',
      operationId: 'listTopics',
      tag: 'topics',
      summary: 'List the topics and their subscribers',
      scope: 'read',
      responses: {
        '200': json('The topics.', ref('TopicList'), {
          topics: { value: { topics: allTopics().map((topic) => ({ name: topic.name, description: topic.description, subscribers: topic.subscribers.map(({ kind }) => kind.name) })) } },
        }),
      },
    },
    {
      path: '/v1/schedules',
      method: 'get',
      operationId: 'listSchedules',
      tag: 'schedules',
      summary: 'List the recurring schedules',
      description: 'Catalog schedules (upserted at every producer start) and those made over the API.',
      scope: 'read',
      responses: { '200': json('The schedules.', ref('ScheduleList'), { schedules: { value: { schedules: [schedule.answer] } } }) },
    },
    {
      path: '/v1/schedules/{id}',
      method: 'get',
      operationId: 'getSchedule',
      tag: 'schedules',
      summary: 'Read one schedule',
      scope: 'read',
      parameters: [params.scheduleId],
      responses: { '200': json('The schedule.', ref('Schedule'), { schedule: { value: schedule.answer } }) },
      errors: ['schedule_not_found'],
    },
    {
      path: '/v1/schedules/{id}',
      method: 'put',
      operationId: 'upsertSchedule',
      tag: 'schedules',
      summary: 'Create or replace a schedule',
      description: 'A catalog schedule changed here is reset to its declaration at the next producer start.',
      scope: 'admin',
      parameters: [params.scheduleId],
      requestBody: { schema: ref('ScheduleRequest'), examples: { cron: { value: schedule.request } } },
      responses: {
        '201': json('Created.', ref('Schedule'), { created: { value: { ...schedule.answer, source: 'api' } } }),
        '200': json('Replaced.', ref('Schedule'), { replaced: { value: schedule.answer } }),
      },
      errors: ['unknown_job'],
    },
    {
      path: '/v1/schedules/{id}',
      method: 'delete',
      operationId: 'deleteSchedule',
      tag: 'schedules',
      summary: 'Delete a schedule',
      description: 'A catalog schedule comes back at the next producer start.',
      scope: 'admin',
      parameters: [params.scheduleId],
      responses: { '204': { description: 'Deleted.' } },
      errors: ['schedule_not_found'],
    },
    ...serviceOperations(),
  );
  return specs;
}

function serviceOperations(): OperationSpec[] {
  const ok = { '200': json('The process answers.', ref('Health'), { ok: { value: { status: 'ok' } } }) };
  return [
    { path: '/healthz', method: 'get', operationId: 'healthz', tag: 'service', summary: 'Liveness: the process answers', responses: ok },
    {
      path: '/readyz',
      method: 'get',
      operationId: 'readyz',
      tag: 'service',
      summary: 'Readiness: Redis answers too',
      responses: { '200': json('Ready.', ref('Health'), { ok: { value: { status: 'ok' } } }) },
      errors: ['redis_unavailable'],
    },
    {
      path: '/metrics',
      method: 'get',
      operationId: 'metrics',
      tag: 'service',
      summary: "This process's metrics, Prometheus text format",
      responses: { '200': { description: 'Prometheus exposition text.', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
    {
      path: '/openapi.json',
      method: 'get',
      operationId: 'openApiDocument',
      tag: 'service',
      summary: 'This document',
      responses: { '200': { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
    {
      path: '/docs',
      method: 'get',
      operationId: 'docsPage',
      tag: 'service',
      summary: 'This document as a web page',
      responses: { '200': { description: 'HTML, with no external assets.', content: { 'text/html': { schema: { type: 'string' } } } } },
    },
  ];
}
