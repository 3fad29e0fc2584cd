/**
 * The job catalog: the single source of truth for queues and job kinds. Adding a job kind
 * means one file here, one line in the list below, and one handler file in the worker.
 */
import type { z } from 'zod';
import { defineCatalog, type AnyJobKind } from './define.ts';
import { emailSend } from './email-send.ts';
import { queueDefinitions } from './queues.ts';
import { reportGenerate } from './report-generate.ts';
import { webhookDeliver } from './webhook-deliver.ts';

export * from './define.ts';
export { queueDefinitions } from './queues.ts';

export const catalog = defineCatalog(queueDefinitions, [emailSend, webhookDeliver, reportGenerate]);

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
