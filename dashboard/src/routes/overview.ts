/**
 * The overview, from the overview feed's shared poll (overview-feed.ts):
 *
 *   GET /                     the page, rendered with the latest snapshot; 503 with a "Redis
 *                             unreachable" banner while the figures cannot be read
 *   GET /api/overview         the snapshot as JSON (overview-snapshot.ts); 503 in the error envelope
 *   GET /api/overview/stream  Server-Sent Events: `event: overview` with the snapshot after every
 *                             poll (its series only when they changed since the last message to
 *                             this client), a comment line every SSE_HEARTBEAT_MS so proxies keep
 *                             the connection open; the subscription ends when the client leaves
 *
 * A stream outlives the request that was let in, so it is not trusted for long:
 *
 *   1. Before each push the caller is checked again (access-control.ts `stillAdmitted`): a
 *      session signed out or expired since gets `event: signed-out` and the stream ends; the
 *      page's script goes to /login. Were it to reconnect instead, it would get 401. The check
 *      is made once per session and poll, and shared by every stream of that session
 *      (access/stream-admission.ts). The snapshot a stream gets on opening goes out unchecked:
 *      the request was let in a moment before.
 *   2. However valid, a stream ends after `streamMaxAgeMs` (default SSE_MAX_AGE_MS); EventSource
 *      reconnects after the `retry:` delay and the new request passes the access check again.
 *   3. Redis unreachable while checking: the push goes out (the figures say Redis is away);
 *      the age limit still ends the stream.
 */
import type { RequestHandler } from 'express';
import { principalOf } from '../access/access-control.ts';
import { createStreamAdmission } from '../access/stream-admission.ts';
import { HttpError, redisUnavailable, RETRY_AFTER_SEC } from '../http-error.ts';
import type { OverviewUpdate } from '../overview-feed.ts';
import type { OverviewSnapshot } from '../overview-snapshot.ts';
import { RedisUnavailableError } from '../redis-call.ts';
import { renderOverviewPage } from '../ui/overview-page.ts';
import type { RouteContext } from './route.ts';

/** Time between comment lines on an idle stream, in ms. */
export const SSE_HEARTBEAT_MS = 15_000;

/** Longest life of one event stream before the client must reconnect (and be let in again), in ms. */
export const SSE_MAX_AGE_MS = 10 * 60_000;

function statusOf(error: NonNullable<OverviewSnapshot['error']>): number {
  return error.code === 'redis_unavailable' ? 503 : 500;
}

export function overviewPage(context: RouteContext): RequestHandler {
  const { overviewFeed, boardPath } = context;
  return async (_req, res) => {
    const { snapshot } = await overviewFeed.read();
    res.set('Cache-Control', 'no-store').type('html');
    if (snapshot.error) res.status(statusOf(snapshot.error)).set('Retry-After', String(RETRY_AFTER_SEC));
    res.send(renderOverviewPage({ snapshot, boardPath }));
  };
}

export function overviewApi(context: RouteContext): RequestHandler {
  const { overviewFeed } = context;
  return async (_req, res) => {
    const { snapshot, json } = await overviewFeed.read();
    const { error } = snapshot;
    if (error) throw error.code === 'redis_unavailable' ? redisUnavailable(error.message) : new HttpError(500, error.code, error.message);
    res.set('Cache-Control', 'no-store').type('json').send(json);
  };
}

export function overviewStream(context: RouteContext): RequestHandler {
  const { overviewFeed, refreshMs, access, logger } = context;
  const maxAgeMs = context.streamMaxAgeMs ?? SSE_MAX_AGE_MS;
  const admission = createStreamAdmission(access);
  return (req, res) => {
    const principal = principalOf(res);
    // no-transform: a compressing proxy would hold messages back until its buffer fills.
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store, no-transform', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    res.write(`retry: ${refreshMs}\n\n`);

    let seriesAtMs: number | null | undefined;
    let unsubscribe = () => {};
    // The update waiting for the caller's check; only the latest one is worth sending.
    let waiting: OverviewUpdate | undefined;
    let checking = false;
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
    const ageLimit = setTimeout(() => finish(), maxAgeMs);
    const stop = () => {
      clearInterval(heartbeat);
      clearTimeout(ageLimit);
      unsubscribe();
    };
    const finish = (lastEvent?: string) => {
      stop();
      if (res.writableEnded) return;
      if (lastEvent) res.write(lastEvent);
      res.end();
    };
    const send = (update: OverviewUpdate) => {
      // A client that cannot keep up skips a message; the next one carries the series again.
      if (res.writableNeedDrain || res.writableEnded) return;
      const fresh = update.snapshot.seriesAtMs !== seriesAtMs;
      res.write(`event: overview\ndata: ${fresh ? update.json : update.jsonWithoutSeries}\n\n`);
      seriesAtMs = update.snapshot.seriesAtMs;
    };
    const checkThenSend = async () => {
      checking = true;
      try {
        while (waiting && !res.writableEnded) {
          const update = waiting;
          waiting = undefined;
          const admitted = await admission.check(req, principal, update.snapshot.atMs).catch((error: unknown) => {
            if (error instanceof RedisUnavailableError) return true;
            throw error;
          });
          if (!admitted) return finish('event: signed-out\ndata: {}\n\n');
          send(update);
        }
      } catch (error) {
        logger.error({ err: error }, 'overview stream: checking the caller failed');
        finish();
      } finally {
        checking = false;
      }
    };
    res.on('close', stop);
    let subscribing = true;
    unsubscribe = overviewFeed.subscribe({
      update(update) {
        // The latest snapshot, handed over on subscribing: requireAccess let the caller in just now.
        if (subscribing) return send(update);
        waiting = update;
        if (!checking) void checkThenSend();
      },
      end() {
        finish();
      },
    });
    subscribing = false;
  };
}
