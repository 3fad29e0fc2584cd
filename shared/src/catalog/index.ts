/**
 * The job catalog: the single source of truth for queues and job kinds. Adding a job kind
 * means one file here, one line in the list below, and one handler file in the worker.
 */
import type { z } from 'zod';
import { defineCatalog, type AnyJobKind } from './define.ts';
import { emailSend } from './email-send.ts';
import { queueDefinitions } from './queues.ts';
import { reportGenerate } from './report-generate.ts';
import { checkSchedules, defineSchedule, type ScheduleDefinition } from './schedules.ts';
import { defineTopics, type AnyTopic } from './topics.ts';
import { userSignedUp } from './user-signed-up.ts';
import { webhookDeliver } from './webhook-deliver.ts';

export * from './define.ts';
export * from './schedules.ts';
export * from './topics.ts';
export { queueDefinitions } from './queues.ts';

export const catalog = defineCatalog(queueDefinitions, [emailSend, webhookDeliver, reportGenerate]);

/** Pub/sub topics: an event published to one becomes one job per subscribed kind. */
export const topics = defineTopics(catalog.kinds, [userSignedUp]);
export type TopicName = keyof typeof topics & string;
export const topicNames = Object.keys(topics) as TopicName[];
/** An event as a publisher writes it. */
export type TopicEvent<T extends TopicName> = z.input<(typeof topics)[T]['schema']>;

export function isTopicName(name: string): name is TopicName {
  return Object.hasOwn(topics, name);
}

/** The topic named `name`, or undefined. */
export function findTopic(name: string): AnyTopic | undefined {
  return isTopicName(name) ? topics[name] : undefined;
}

/** Recurring schedules the producer upserts at start (see schedules.ts). */
export const catalogSchedules: readonly ScheduleDefinition[] = [
  defineSchedule({
    id: 'report.nightly-usage',
    description: 'The usage report, every night at 03:00 UTC.',
    kind: reportGenerate,
    cron: '0 3 * * *',
    tz: 'UTC',
    data: { reportId: 'usage-nightly', rows: 10_000 },
  }),
];
checkSchedules(catalog.kinds, catalogSchedules);

export const jobKinds = catalog.kinds;
export type JobKinds = typeof jobKinds;
export type JobName = keyof JobKinds & string;
export type QueueName = keyof typeof queueDefinitions & string;

/** A job's payload as the handler sees it (after parsing: defaults applied). */
export type JobData<N extends JobName> = z.output<JobKinds[N]['schema']>;
/** A job's payload as a caller writes it (before defaults). */
export type JobInput<N extends JobName> = z.input<JobKinds[N]['schema']>;

export const jobNames = Object.keys(jobKinds) as JobName[];
export const queueNames = Object.keys(queueDefinitions) as QueueName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobKinds, name);
}

/** The kind named `name`, or undefined. */
export function findJobKind(name: string): AnyJobKind | undefined {
  return isJobName(name) ? jobKinds[name] : undefined;
}

export function kindsOfQueue(queue: QueueName): AnyJobKind[] {
  return Object.values<AnyJobKind>(jobKinds).filter((kind) => kind.queue === queue);
}
