/**
 * The shapes of the HTTP API's answers, as zod schemas: the OpenAPI document's response
 * components are generated from them, and the HTTP client's result types are their types
 * (imported as types only, so the client carries no zod at run time).
 */
import { z } from 'zod';

const isoTime = z.iso.datetime({ offset: true });
const jobName = z.string().meta({ description: 'Job kind, e.g. `email.send`.' });
const queueName = z.string().meta({ description: 'Queue the job runs on, e.g. `email`.' });

export const errorBodySchema = z.object({
  code: z.string().meta({ description: 'Stable, machine-readable: `validation_failed`, `unknown_job`, …' }),
  message: z.string().meta({ description: 'For people; may change.' }),
  details: z.record(z.string(), z.unknown()).meta({ description: 'Code-specific facts, e.g. `issues`, `known`, `limit`.' }),
});

export const errorEnvelopeSchema = z
  .object({ error: errorBodySchema })
  .meta({ description: 'Every error of every route has this one shape.' });

export const validationIssueSchema = z.object({
  path: z.string().meta({ description: 'Where, as the caller wrote it: `data.to`, `jobs.3.data.to`, `delayMs`.' }),
  message: z.string(),
  code: z.string().meta({ description: "zod's issue code, e.g. `invalid_type`, `unrecognized_keys`." }),
});

export const enqueueAnswerSchema = z.object({
  id: z.string(),
  name: jobName,
  queue: queueName,
  deduplicated: z
    .literal(true)
    .optional()
    .meta({ description: "Present when the kind's dedup key matched a pending job: this is that job." }),
});

export const bulkItemAnswerSchema = z.object({
  index: z.int().min(0).meta({ description: 'Position of the item in the request.' }),
  id: z.string(),
  name: jobName,
  queue: queueName,
  created: z.boolean().meta({ description: 'False when the job id, idempotency key or dedup key named an existing job: this is that job.' }),
  deduplicated: z.boolean().optional().meta({ description: "True when the kind's dedup key matched a pending job." }),
});

export const bulkRejectionSchema = z.object({
  index: z.int().min(0),
  issues: z.array(validationIssueSchema).meta({ description: 'Every bad field of the item, paths relative to the item.' }),
});

export const bulkAnswerSchema = z.object({
  jobs: z.array(bulkItemAnswerSchema).meta({ description: 'The items enqueued (or found), in request order.' }),
  rejected: z
    .array(bulkRejectionSchema)
    .meta({ description: 'With `?partial=true`: the items refused (answer 207); otherwise always empty.' }),
});

export const jobStateSchema = z.enum([
  'waiting',
  'delayed',
  'prioritized',
  'waiting-children',
  'active',
  'completed',
  'failed',
  'dead-lettered',
]);

export const jobStatusSchema = z.object({
  id: z.string(),
  name: jobName,
  queue: queueName,
  state: jobStateSchema,
  progress: z
    .union([z.number(), z.string(), z.boolean(), z.record(z.string(), z.unknown())])
    .meta({ description: 'What the handler last reported, usually 0–100.' }),
  attemptsMade: z.int().min(0),
  attempts: z.int().min(1).meta({ description: 'Attempts allowed in all.' }),
  data: z.unknown().meta({ description: 'The payload as stored (sensitive fields masked).' }),
  createdAt: isoTime,
  processedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
  result: z.unknown().meta({ description: "The handler's return value once completed, else null." }),
  failedReason: z.string().nullable(),
  delayMs: z.int().min(0),
  priority: z.int().min(0),
  deadLetter: z
    .object({ reason: z.string(), deadLetteredAt: isoTime, redriveCount: z.int().min(0) })
    .optional()
    .meta({ description: 'Present when `state` is `dead-lettered`.' }),
});

export const cancelAnswerSchema = z.object({
  id: z.string(),
  name: jobName,
  queue: queueName,
  state: z.literal('cancelled'),
  previousState: z.enum(['waiting', 'delayed', 'prioritized', 'paused', 'waiting-children']),
});

export const publishAnswerSchema = z.object({
  topic: z.string(),
  eventId: z.string().meta({ description: 'The event id given, or one the server chose.' }),
  jobs: z
    .array(z.object({ id: z.string(), name: jobName, queue: queueName, created: z.boolean(), deduplicated: z.boolean().optional() }))
    .meta({ description: 'One job per subscriber, in the topic\'s subscriber order.' }),
});

export const topicListSchema = z.object({
  topics: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      subscribers: z.array(jobName).meta({ description: 'Job kinds that each get one job per event.' }),
    }),
  ),
});

export const scheduleSchema = z.object({
  id: z.string(),
  name: jobName,
  queue: queueName,
  cron: z.string().optional(),
  tz: z.string().optional(),
  everyMs: z.int().min(1).optional(),
  data: z.unknown(),
  next: isoTime.nullable().meta({ description: 'When it fires next; null when it will not.' }),
  source: z.enum(['catalog', 'api']).meta({ description: '`catalog` schedules come back at the next producer start.' }),
});

export const scheduleListSchema = z.object({ schedules: z.array(scheduleSchema) });

export const healthAnswerSchema = z.object({ status: z.literal('ok') });

export type ErrorBody = z.output<typeof errorBodySchema>;
export type ValidationIssueAnswer = z.output<typeof validationIssueSchema>;
export type EnqueueAnswer = z.output<typeof enqueueAnswerSchema>;
export type BulkItemAnswer = z.output<typeof bulkItemAnswerSchema>;
export type BulkRejection = z.output<typeof bulkRejectionSchema>;
export type BulkAnswer = z.output<typeof bulkAnswerSchema>;
export type JobStatusAnswer = z.output<typeof jobStatusSchema>;
export type CancelAnswer = z.output<typeof cancelAnswerSchema>;
export type PublishAnswer = z.output<typeof publishAnswerSchema>;
export type TopicListAnswer = z.output<typeof topicListSchema>;
export type ScheduleAnswer = z.output<typeof scheduleSchema>;
export type ScheduleListAnswer = z.output<typeof scheduleListSchema>;

/** Component name → answer schema: the document's `components.schemas` for answers. */
export const answerComponents = {
  ErrorEnvelope: errorEnvelopeSchema,
  ValidationIssue: validationIssueSchema,
  EnqueueResult: enqueueAnswerSchema,
  BulkEnqueueResult: bulkAnswerSchema,
  JobStatus: jobStatusSchema,
  CancelResult: cancelAnswerSchema,
  PublishResult: publishAnswerSchema,
  TopicList: topicListSchema,
  Schedule: scheduleSchema,
  ScheduleList: scheduleListSchema,
  Health: healthAnswerSchema,
} satisfies Record<string, z.ZodType>;
