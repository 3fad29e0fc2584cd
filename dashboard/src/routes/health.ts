/**
 * GET /healthz : the process is up and serving (never touches Redis).
 * GET /readyz  : Redis answers PING within the deadline; 503 envelope otherwise.
 */
import type { RequestHandler } from 'express';
import { callRedis } from '../redis-call.ts';
import type { RouteContext } from './route.ts';

export function healthz(): RequestHandler {
  return (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok' });
  };
}

export function readyz(context: RouteContext): RequestHandler {
  const { redis, commandTimeoutMs } = context;
  return async (_req, res) => {
    await callRedis({ redis, timeoutMs: commandTimeoutMs, label: 'PING' }, () => redis.ping());
    res.set('Cache-Control', 'no-store').json({ status: 'ready', redis: 'ok' });
  };
}
