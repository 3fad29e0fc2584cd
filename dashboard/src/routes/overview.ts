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
 */
import type { RequestHandler } from 'express';
import { HttpError, redisUnavailable, RETRY_AFTER_SEC } from '../http-error.ts';
import type { OverviewSnapshot } from '../overview-snapshot.ts';
import { renderOverviewPage } from '../ui/overview-page.ts';
import type { RouteContext } from './route.ts';

/** Time between comment lines on an idle stream, in ms. */
export const SSE_HEARTBEAT_MS = 15_000;

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
  const { overviewFeed, refreshMs } = context;
  return (req, res) => {
    // no-transform: a compressing proxy would hold messages back until its buffer fills.
    res.status(200).set({ 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store, no-transform', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    res.write(`retry: ${refreshMs}\n\n`);

    let seriesAtMs: number | null | undefined;
    let unsubscribe = () => {};
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), SSE_HEARTBEAT_MS);
    const stop = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    res.on('close', stop);
    unsubscribe = overviewFeed.subscribe({
      update(update) {
        // A client that cannot keep up skips a message; the next one carries the series again.
        if (res.writableNeedDrain || res.writableEnded) return;
        const fresh = update.snapshot.seriesAtMs !== seriesAtMs;
        res.write(`event: overview\ndata: ${fresh ? update.json : update.jsonWithoutSeries}\n\n`);
        seriesAtMs = update.snapshot.seriesAtMs;
      },
      end() {
        stop();
        res.end();
      },
    });
  };
}
