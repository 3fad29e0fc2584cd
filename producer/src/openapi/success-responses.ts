/**
 * The success answers of the API's operations, with examples built from the catalog: the
 * kinds' and topics' examples, as the enqueue, bulk, publish and schedule routes answer them.
 */
import { catalogSchedules, type AnyJobKind, type AnyTopic } from '@conveyor/shared';
import { allKinds } from './catalog-schemas.ts';
import { ref, type JsonSchema } from './json-schema.ts';

export interface Example {
  summary?: string;
  value: unknown;
}

const EXAMPLE_TIME = '2026-11-03T09:30:00.000Z';

export function json(description: string, schema: JsonSchema, examples?: Record<string, Example>, headers?: Record<string, unknown>) {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { 'application/json': { schema, ...(examples ? { examples } : {}) } },
  };
}

export const locationHeader = { Location: { description: 'Where to read the job back.', schema: { type: 'string' } } };

const enqueued = (kind: AnyJobKind) => ({ id: '1', name: kind.name, queue: kind.queue });

export function enqueueResponses(kind?: AnyJobKind) {
  const kinds = kind ? [kind] : allKinds();
  const first = kinds[0]!;
  const repeats: Record<string, Example> = { repeat: { summary: 'An idempotent repeat (same idempotency key)', value: enqueued(first) } };
  for (const dedupKind of kinds.filter((candidate) => candidate.dedup)) {
    repeats[`deduplicated-${dedupKind.name}`] = { summary: 'A dedup hit: the pending job with the same key', value: { ...enqueued(dedupKind), deduplicated: true } };
  }
  return {
    '201': json('Enqueued a new job.', ref('EnqueueResult'), Object.fromEntries(kinds.map((k) => [k.name, { value: enqueued(k) }])), locationHeader),
    '200': json('The job of an earlier, identical request, or of a dedup hit.', ref('EnqueueResult'), repeats, locationHeader),
  };
}

export function bulkResponses(kinds: readonly AnyJobKind[]) {
  const items = kinds.map((kind, index) => ({ index, id: String(index + 1), name: kind.name, queue: kind.queue, created: true }));
  return {
    '201': json('Enqueued; every item has its job (`created: false` for one that existed).', ref('BulkEnqueueResult'), { all: { value: { jobs: items, rejected: [] } } }),
    '200': json('Every item named an existing job: nothing new.', ref('BulkEnqueueResult'), {
      repeat: { value: { jobs: items.map((item) => ({ ...item, created: false })), rejected: [] } },
    }),
    '207': json('`?partial=true` and some items were refused: `rejected` lists them with every bad field.', ref('BulkEnqueueResult'), {
      partial: {
        value: {
          jobs: items.slice(0, 1),
          rejected: [{ index: items.length, issues: [{ path: 'data', message: 'Invalid input: expected object, received string', code: 'invalid_type' }] }],
        },
      },
    }),
  };
}

export function jobStatusExample(kind: AnyJobKind) {
  return {
    id: '1',
    name: kind.name,
    queue: kind.queue,
    state: 'completed',
    progress: 100,
    attemptsMade: 1,
    attempts: kind.policy.attempts,
    data: kind.example,
    createdAt: EXAMPLE_TIME,
    processedAt: EXAMPLE_TIME,
    finishedAt: EXAMPLE_TIME,
    result: null,
    failedReason: null,
    delayMs: 0,
    priority: 0,
  };
}

function publishExample(topic: AnyTopic) {
  return {
    topic: topic.name,
    eventId: 'evt_1',
    jobs: topic.subscribers.map(({ kind }) => ({ id: `${topic.name}.evt_1.${kind.name}`, name: kind.name, queue: kind.queue, created: true })),
  };
}

export function scheduleExample() {
  const declared = catalogSchedules[0];
  const kind = declared?.kind ?? allKinds()[0]!;
  const timing = declared ? ('cron' in declared ? { cron: declared.cron, tz: declared.tz ?? 'UTC' } : { everyMs: declared.everyMs }) : { everyMs: 60_000 };
  return {
    request: { name: kind.name, data: declared?.data ?? kind.example, ...timing },
    answer: { id: declared?.id ?? 'every-minute', name: kind.name, queue: kind.queue, ...timing, data: declared?.data ?? kind.example, next: EXAMPLE_TIME, source: declared ? 'catalog' : 'api' },
  };
}

export function kindExamples(kinds: readonly AnyJobKind[]): Record<string, Example> {
  return Object.fromEntries(kinds.map((kind) => [kind.name, { summary: kind.description, value: { data: kind.example } }]));
}

export function publishResponses(list: readonly AnyTopic[]) {
  const examples = Object.fromEntries(list.map((topic) => [topic.name, { value: publishExample(topic) }]));
  const repeats = Object.fromEntries(
    list.map((topic) => [topic.name, { value: { ...publishExample(topic), jobs: publishExample(topic).jobs.map((job) => ({ ...job, created: false })) } }]),
  );
  return {
    '201': json('Published: at least one job was created.', ref('PublishResult'), examples),
    '200': json('This event id was published before: every job already existed.', ref('PublishResult'), repeats),
  };
}
