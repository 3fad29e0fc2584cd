/**
 * Topics: publish/subscribe on top of job kinds. A topic is a name, an event schema and the
 * job kinds subscribed to it; each subscriber turns the event into one job of its kind.
 *
 * Publishing validates the event, builds every subscriber's payload, validates each against its
 * kind's schema, and only then enqueues one job per subscriber. Each job is an ordinary job of
 * its kind, retried and dead-lettered on its own. The job ids derive from (topic, event id,
 * subscriber kind), so publishing the same event id twice creates no second set of jobs.
 */
import type { z } from 'zod';
import type { AnyJobKind, JobKind } from './define.ts';

export interface TopicSubscriber<Event, Kind extends AnyJobKind = AnyJobKind> {
  /** The job kind that receives the event. */
  kind: Kind;
  /** The kind's payload for one event; validated against the kind's schema at publish. */
  payload(event: Event, meta: { eventId: string; topic: string }): z.input<Kind['schema']>;
}

export interface Topic<Name extends string = string, Schema extends z.ZodType = z.ZodType> {
  name: Name;
  description: string;
  /** The event's schema. */
  schema: Schema;
  /** A valid event: documentation, OpenAPI example and test fixture in one. */
  example: z.input<Schema>;
  subscribers: readonly TopicSubscriber<z.output<Schema>>[];
}

export type AnyTopic = Topic<string, z.ZodType>;

const TOPIC_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9_-]*)+$/;

/** One subscriber, typed by its kind: `subscribe(emailSend, (event) => ({ to: event.email, … }))`. */
export function subscribe<Event, Kind extends JobKind>(
  kind: Kind,
  payload: (event: Event, meta: { eventId: string; topic: string }) => z.input<Kind['schema']>,
): TopicSubscriber<Event> {
  return { kind, payload } as TopicSubscriber<Event>;
}

/** Declares one topic; checked when the catalog is built (see `defineTopics`). */
export function defineTopic<const Name extends string, Schema extends z.ZodType>(definition: {
  name: Name;
  description: string;
  schema: Schema;
  example: z.input<Schema>;
  subscribers: readonly TopicSubscriber<z.output<Schema>>[];
}): Topic<Name, Schema> {
  return definition;
}

type TopicsByName<Topics extends readonly AnyTopic[]> = { [T in Topics[number] as T['name']]: T };

/**
 * The name → topic table: names are dotted lower case, unique, each has a subscriber, no kind
 * subscribes twice, every subscriber is a catalog kind, and the example event gives a valid
 * payload for every subscriber.
 */
export function defineTopics<const Topics extends readonly AnyTopic[]>(
  kinds: Readonly<Record<string, AnyJobKind>>,
  topics: Topics,
): TopicsByName<Topics> {
  const table: Record<string, AnyTopic> = {};
  for (const topic of topics) {
    if (!TOPIC_NAME.test(topic.name)) throw new Error(`topic "${topic.name}" must match ${TOPIC_NAME}`);
    if (topic.name in table) throw new Error(`topic "${topic.name}" is declared twice`);
    if (topic.subscribers.length === 0) throw new Error(`topic "${topic.name}" has no subscriber`);
    const example = topic.schema.safeParse(topic.example);
    if (!example.success) throw new Error(`topic "${topic.name}": its example does not validate: ${example.error.message}`);
    const seen = new Set<string>();
    for (const subscriber of topic.subscribers) {
      const { name } = subscriber.kind;
      if (kinds[name] !== subscriber.kind) throw new Error(`topic "${topic.name}": subscriber "${name}" is not a catalog job kind`);
      if (seen.has(name)) throw new Error(`topic "${topic.name}": "${name}" subscribes twice`);
      seen.add(name);
      const payload = subscriber.kind.schema.safeParse(subscriber.payload(example.data, { eventId: 'example', topic: topic.name }));
      if (!payload.success) {
        throw new Error(`topic "${topic.name}": the example gives "${name}" an invalid payload: ${payload.error.message}`);
      }
    }
    table[topic.name] = topic;
  }
  return table as TopicsByName<Topics>;
}
