/**
 * Publish/subscribe: an event published to a catalog topic becomes one job per subscribed kind.
 *
 *   POST /v1/events/:topic   {"id"?: "<event id>", "data": {...}} → 201 jobs created, 200 all existed
 *   GET  /v1/topics          → the topics, their descriptions and subscribers
 */
import { Router, type RequestHandler } from 'express';
import { isTopicName, topicNames, topics, type AnyTopic } from '@conveyor/shared';
import type { Producer } from '../client.ts';
import { JobValidationError, UnknownTopicError } from '../producer-errors.ts';
import { jsonBody, objectBody } from './json-body.ts';

export interface EventsRouterDeps {
  producer: Pick<Producer, 'publishUnknown'>;
  bodyLimitBytes: number;
}

/** Mounted at `/v1`. */
export function eventsRouter(deps: EventsRouterDeps): Router {
  const router = Router();
  router.post('/events/:topic', requireKnownTopic, ...jsonBody(deps.bodyLimitBytes), publish(deps.producer));
  router.get('/topics', (_req, res) => {
    res.json({ topics: Object.values<AnyTopic>(topics).map(topicView) });
  });
  return router;
}

const requireKnownTopic: RequestHandler<{ topic: string }> = (req, _res, next) => {
  if (!isTopicName(req.params.topic)) throw new UnknownTopicError(req.params.topic, topicNames);
  next();
};

function publish(producer: EventsRouterDeps['producer']): RequestHandler<{ topic: string }> {
  return async (req, res) => {
    const { id, data, ...rest } = objectBody(req.body, '{"id"?: "<event id>", "data": {...}}');
    const issues = Object.keys(rest).map((field) => ({ path: field, code: 'unrecognized_keys', message: 'unknown field' }));
    if (id !== undefined && typeof id !== 'string') issues.push({ path: 'id', code: 'invalid_type', message: 'expected a string' });
    if (issues.length > 0) throw new JobValidationError(issues);
    const result = await producer.publishUnknown(req.params.topic, data, id === undefined ? {} : { eventId: id as string });
    res.status(result.jobs.some((job) => job.created) ? 201 : 200).json(result);
  };
}

function topicView(topic: AnyTopic) {
  return {
    name: topic.name,
    description: topic.description,
    subscribers: topic.subscribers.map((subscriber) => subscriber.kind.name),
  };
}
