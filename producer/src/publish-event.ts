/**
 * Publishing an event to a topic (shared/src/catalog/topics.ts): the event is validated, each
 * subscriber turns it into its kind's payload, every payload is validated, and only when all
 * are valid is one job per subscriber enqueued, in one pass through enqueue-jobs.ts.
 *
 * Each job's id is `evt-<hash of topic, event id and kind>`, guarded by an idempotency marker:
 * publishing the same event id again returns the same jobs (`created: false`), and the same
 * id with other data is a conflict (409). Without an event id the producer makes one, and the
 * publish is not deduplicated.
 */
import { createHash, randomUUID } from 'node:crypto';
import { findTopic, topicNames, type JobName } from '@conveyor/shared';
import { callerJobIdSchema, checkEnqueueRequest, issuesOf, type EnqueueRequest } from './enqueue-request.ts';
import type { EnqueueResult } from './enqueue-jobs.ts';
import { JobValidationError, UnknownTopicError, type ValidationIssue } from './producer-errors.ts';

export interface PublishOptions {
  /**
   * The event's id (the rules of a job id: 1–128 letters, digits, ".", "_" or "-", starting with
   * a letter or digit, not all digits): publishing it twice creates no second set of jobs.
   * Default: a new UUID.
   */
  eventId?: string;
}

export interface PublishResult {
  topic: string;
  eventId: string;
  /** One job per subscriber, in the topic's subscriber order. */
  jobs: EnqueueResult[];
}

/** The job id of one subscriber's job for one event. */
export function eventJobId(topic: string, eventId: string, kind: JobName | string): string {
  return `evt-${createHash('sha256').update(`${topic}\0${eventId}\0${kind}`).digest('hex').slice(0, 32)}`;
}

/** Validates the event and builds one enqueue request per subscriber; throws UnknownTopicError or JobValidationError. */
export function planPublish(topicName: string, event: unknown, options: PublishOptions = {}): { eventId: string; requests: EnqueueRequest[] } {
  const topic = findTopic(topicName);
  if (!topic) throw new UnknownTopicError(topicName, topicNames);
  const issues: ValidationIssue[] = [];
  if (options.eventId !== undefined) {
    const id = callerJobIdSchema.safeParse(options.eventId);
    if (!id.success) issues.push(...issuesOf(id.error, ['id']));
  }
  const parsed = topic.schema.safeParse(event);
  if (!parsed.success) issues.push(...issuesOf(parsed.error, ['data']));
  if (issues.length > 0) throw new JobValidationError(issues);

  const eventId = options.eventId ?? randomUUID();
  const requests: EnqueueRequest[] = [];
  for (const subscriber of topic.subscribers) {
    const kind = subscriber.kind.name;
    const payload = subscriber.payload(parsed.data, { eventId, topic: topic.name });
    const checked = checkEnqueueRequest(kind, payload, {});
    // The id is the fan-out's own, set past the options' allowlist: no caller chooses it.
    if (checked.request) requests.push({ ...checked.request, jobId: eventJobId(topic.name, eventId, kind) });
    // The event was valid but a subscriber's payload is not (a field too long for it, say).
    else issues.push(...checked.issues.map((issue) => ({ ...issue, path: `subscribers.${kind}.${issue.path}`, message: `${issue.message} (built from the event)` })));
  }
  if (issues.length > 0) throw new JobValidationError(issues);
  return { eventId, requests };
}
