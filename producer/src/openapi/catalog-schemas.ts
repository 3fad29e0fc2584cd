/**
 * The catalog as OpenAPI components: per job kind its payload and its request bodies (one job,
 * bulk), per topic its event and publish body, and the schedule body, all from the catalog's
 * zod schemas. Descriptions carry each kind's policy: attempts, backoff, timeout, dedup,
 * sensitive fields.
 */
import {
  jobKinds,
  MIN_SCHEDULE_EVERY_MS,
  SCHEDULE_ID,
  topics,
  type AnyJobKind,
  type AnyTopic,
  type BackoffPolicy,
} from '@conveyor/shared';
import {
  CALLER_ID_PATTERN,
  callerJobIdSchema,
  enqueueOptionsSchema,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_JOB_ID_LENGTH,
  SCHEDULER_JOB_ID_PATTERN,
} from '../enqueue-request.ts';
import { jsonSchemaOf, ref, withoutProperties, type HoistedDefinitions, type JsonSchema } from './json-schema.ts';

/** What the document says about limits the server is configured with. */
export interface DocumentLimits {
  /** Largest request body, in bytes (BODY_LIMIT_BYTES). */
  bodyLimitBytes: number;
  /** Most items in one bulk request (BULK_MAX_JOBS). */
  bulkMaxJobs: number;
}

/** `email.send` → `EmailSend`: the prefix of the kind's or topic's component names. */
export function componentBase(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** A caller-chosen event id, as a JSON Schema (the server also refuses BullMQ's key names). */
export function callerIdSchema(hoisted: HoistedDefinitions): JsonSchema {
  return {
    ...jsonSchemaOf(callerJobIdSchema, 'CallerId', hoisted),
    minLength: 1,
    maxLength: MAX_JOB_ID_LENGTH,
    pattern: `^(?![0-9]+$)${CALLER_ID_PATTERN.source.slice(1)}`,
    description: `1–${MAX_JOB_ID_LENGTH} letters, digits, \`.\`, \`_\` or \`-\`, starting with a letter or digit; not all digits, not a BullMQ key name (\`wait\`, \`active\`, …).`,
  };
}

export const idempotencyKeySchema: JsonSchema = { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH };

/** The option fields of one enqueue as a body carries them (the idempotency key is a header there). */
function optionProperties(hoisted: HoistedDefinitions, withIdempotencyKey: boolean): Record<string, JsonSchema> {
  const options = jsonSchemaOf(enqueueOptionsSchema, 'EnqueueOptions', hoisted);
  const shown = withIdempotencyKey ? options : withoutProperties(options, ['idempotencyKey']);
  const properties = { ...(shown.properties as Record<string, JsonSchema> | undefined) };
  const notes: Record<string, string> = {
    delayMs: 'Run no sooner than this many ms from now (0 – 1 year). Excludes `runAt`.',
    runAt: 'Run no sooner than this time (ISO-8601 with offset), at most one year ahead; a past time runs now. Excludes `delayMs`.',
    priority: "0 = none, 1 = highest … 2,097,151 = lowest. Default: the kind's priority.",
    idempotencyKey: 'A retried request with the same key returns the first job (1–255 characters).',
  };
  for (const [name, note] of Object.entries(notes)) {
    if (properties[name]) properties[name] = { ...properties[name], description: note };
  }
  return properties;
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1_000 === 0) return `${ms / 1_000} s`;
  return `${ms} ms`;
}

function describeBackoff(backoff: BackoffPolicy): string {
  if (backoff.type === 'custom') return 'custom (computed from the attempt and the error)';
  const jitter = backoff.jitter ? `, up to ${Math.round(backoff.jitter * 100)} % jitter` : '';
  return backoff.type === 'fixed' ? `fixed ${formatMs(backoff.delayMs)}${jitter}` : `exponential from ${formatMs(backoff.delayMs)}${jitter}`;
}

/** The kind's description with its policy, as Markdown. */
export function describeKind(kind: AnyJobKind): string {
  const { policy } = kind;
  const lines = [
    `- Queue: \`${kind.queue}\``,
    `- Attempts: ${policy.attempts} in all; backoff ${describeBackoff(policy.backoff)}`,
    `- Timeout: ${formatMs(policy.timeoutMs)} per attempt`,
    `- Priority: ${policy.priority === 0 ? '0 (none)' : policy.priority} unless the request sets one`,
    `- Completed jobs kept: at most ${policy.retention.completed.count.toLocaleString('en')}, for ${formatMs(policy.retention.completed.ageSec * 1000)}`,
  ];
  if (kind.dedup) {
    const source = kind.dedup.key.toString();
    const key = source.length <= 120 && !source.includes('\n') ? ` (\`${source}\`)` : '';
    const holds = kind.dedup.ttlMs ? `for ${formatMs(kind.dedup.ttlMs)} after the first enqueue` : 'until that job completes or fails';
    lines.push(
      `- Deduplicated: one pending job per key derived from the payload${key}, ${holds}; a repeat answers 200 with \`deduplicated: true\` and that job's id`,
    );
  }
  if (kind.sensitive?.length) {
    lines.push(`- Sensitive fields: ${kind.sensitive.map((path) => `\`${path}\``).join(', ')}: encrypted before they reach Redis, masked wherever shown`);
  }
  return `${kind.description}\n\n${lines.join('\n')}`;
}

/** The machine-readable policy of a kind (`x-job-policy`). */
export function policyExtension(kind: AnyJobKind): Record<string, unknown> {
  const { attempts, backoff, timeoutMs, priority } = kind.policy;
  return {
    queue: kind.queue,
    attempts,
    backoff: backoff.type === 'custom' ? { type: 'custom' } : backoff,
    timeoutMs,
    priority,
    ...(kind.dedup ? { dedup: { ttlMs: kind.dedup.ttlMs ?? null } } : {}),
    ...(kind.sensitive?.length ? { sensitive: kind.sensitive } : {}),
  };
}

export const kindNames = {
  data: (kind: AnyJobKind) => `${componentBase(kind.name)}Data`,
  enqueue: (kind: AnyJobKind) => `${componentBase(kind.name)}EnqueueRequest`,
  bulk: (kind: AnyJobKind) => `${componentBase(kind.name)}BulkRequest`,
};

export const topicComponentNames = {
  event: (topic: AnyTopic) => `${componentBase(topic.name)}Event`,
  publish: (topic: AnyTopic) => `${componentBase(topic.name)}PublishRequest`,
};

export const allKinds = (): AnyJobKind[] => Object.values<AnyJobKind>(jobKinds);
export const allTopics = (): AnyTopic[] => Object.values<AnyTopic>(topics);

/** Every catalog-derived component schema. */
export function catalogComponents(limits: DocumentLimits): Record<string, JsonSchema> {
  const schemas: HoistedDefinitions = {};
  const claim = (name: string, schema: JsonSchema) => {
    if (name in schemas) throw new Error(`two catalog entries map to the OpenAPI component "${name}"`);
    schemas[name] = schema;
  };
  const bodyOptions = optionProperties(schemas, false);
  const itemOptions = optionProperties(schemas, true);
  const jobsArray = (items: JsonSchema) => ({
    type: 'array',
    minItems: 1,
    maxItems: limits.bulkMaxJobs,
    description: `1–${limits.bulkMaxJobs} jobs (BULK_MAX_JOBS); more answers 413 \`too_many_items\`.`,
    items,
  });
  const kinds = allKinds();

  for (const kind of kinds) {
    claim(kindNames.data(kind), { ...jsonSchemaOf(kind.schema, kindNames.data(kind), schemas), description: kind.description });
    claim(kindNames.enqueue(kind), {
      type: 'object',
      properties: { data: ref(kindNames.data(kind)), ...bodyOptions },
      required: ['data'],
      additionalProperties: false,
    });
    claim(kindNames.bulk(kind), {
      type: 'object',
      properties: {
        jobs: jobsArray({
          type: 'object',
          properties: { data: ref(kindNames.data(kind)), ...itemOptions },
          required: ['data'],
          additionalProperties: false,
        }),
      },
      required: ['jobs'],
      additionalProperties: false,
    });
  }
  claim('EnqueueRequest', {
    type: 'object',
    description: "One job of the kind named in the path; `data` must match that kind's schema.",
    properties: { data: { anyOf: kinds.map((kind) => ref(kindNames.data(kind))) }, ...bodyOptions },
    required: ['data'],
    additionalProperties: false,
  });
  claim('MixedBulkRequest', {
    type: 'object',
    properties: {
      jobs: jobsArray({
        oneOf: kinds.map((kind) => ({
          type: 'object',
          properties: { name: { const: kind.name }, data: ref(kindNames.data(kind)), ...itemOptions },
          required: ['name', 'data'],
          additionalProperties: false,
        })),
      }),
    },
    required: ['jobs'],
    additionalProperties: false,
  });

  for (const topic of allTopics()) {
    claim(topicComponentNames.event(topic), { ...jsonSchemaOf(topic.schema, topicComponentNames.event(topic), schemas), description: topic.description });
    claim(topicComponentNames.publish(topic), {
      type: 'object',
      properties: {
        id: { ...callerIdSchema(schemas), description: 'The event id: publishing the same id twice creates no second set of jobs. Default: the server picks one.' },
        data: ref(topicComponentNames.event(topic)),
      },
      required: ['data'],
      additionalProperties: false,
    });
  }

  claim('ScheduleRequest', {
    description: `A recurring schedule: a cron pattern (with an IANA time zone, default UTC) or every N ms (≥ ${MIN_SCHEDULE_EVERY_MS}); each tick enqueues one job of \`name\` with \`data\`.`,
    oneOf: kinds.map((kind) => ({
      type: 'object',
      properties: {
        name: { const: kind.name },
        data: ref(kindNames.data(kind)),
        cron: { type: 'string', minLength: 1, maxLength: 256, description: 'Five or six fields (seconds first when six), e.g. `0 3 * * *`.' },
        tz: { type: 'string', minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. `Europe/Paris`. Default UTC.' },
        everyMs: { type: 'integer', minimum: MIN_SCHEDULE_EVERY_MS },
      },
      required: ['name', 'data'],
      additionalProperties: false,
      oneOf: [{ required: ['cron'] }, { required: ['everyMs'] }],
      dependentRequired: { tz: ['cron'] },
    })),
  });
  return schemas;
}

/** The schedule id path parameter's pattern. */
export const scheduleIdPattern = SCHEDULE_ID.source;

/** A job id in a path: a BullMQ number, a caller-chosen or derived id, or a scheduler's job id. */
export const jobIdPathPattern = `^(?:${CALLER_ID_PATTERN.source.slice(1, -1)}|${SCHEDULER_JOB_ID_PATTERN.source.slice(1, -1)})$`;
