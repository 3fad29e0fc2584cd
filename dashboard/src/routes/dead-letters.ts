/**
 * The dead-letter queue in the dashboard (dead-letter-actions.ts tells what an action does):
 *
 *   GET  /dead-letters?queue&kind&reason&text&from&to&limit&cursor   the list page (viewer)
 *   GET  /dead-letters/:queue/:id                   one record, payload masked (viewer)
 *   GET  /api/dead-letters?…                         { records, nextCursor?, counts } (viewer)
 *   GET  /api/dead-letters/:queue/:id                { record } (viewer)
 *   POST /api/dead-letters/redrive  JSON { queue, ids? | filter?, dryRun?, edit?, confirm? } (operator)
 *   POST /api/dead-letters/purge    JSON { queue, ids? | filter?, dryRun?, confirm } (operator)
 *   POST /dead-letters/redrive, /dead-letters/purge   the same from the pages' forms (operator)
 *   GET  /dead-letters/tasks/:id                    a background redrive's progress page (viewer)
 *   GET  /api/dead-letters/tasks/:id                 { task } (viewer)
 * A redrive of more records than the threshold answers 202 { task } with Location (API) or 303
 * to the task page (form) at once, and runs in the background (dead-letter-task.ts).
 */
import { isRedisReady, queueNames, type DeadLetterStore } from '@conveyor/shared';
import express, { type Request, type RequestHandler } from 'express';
import { principalOf } from '../access/access-control.ts';
import { deadLetterStoreOf, previewPurge, previewRedrive, runPurge, runRedrive } from '../dead-letter-actions.ts';
import { parseActionForm, parseListQuery, parsePurgeBody, parseRedriveBody, toStoreFilter, type ListQuery } from '../dead-letter-request.ts';
import { readRedriveTask, taskApiUrl, taskPageUrl } from '../dead-letter-task.ts';
import { HttpError, redisUnavailable } from '../http-error.ts';
import { callRedis } from '../redis-call.ts';
import { renderActionConfirm, renderPurgeResult, renderRedriveResult, type ActionEcho } from '../ui/dead-letter-action-page.ts';
import { renderRedriveRunning, renderRedriveTask } from '../ui/dead-letter-task-page.ts';
import { maskedRecord, renderDeadLetterList, renderDeadLetterRecord } from '../ui/dead-letters-page.ts';
import type { RouteContext } from './route.ts';

const jsonBody = express.json({ limit: '256kb' });

/** Reads get the dashboard's usual deadline; actions only need Redis up (they may run long). */
function read<T>(context: RouteContext, label: string, call: () => Promise<T>): Promise<T> {
  return callRedis({ redis: context.redis, timeoutMs: context.commandTimeoutMs, label }, call);
}

function requireRedis(context: RouteContext): void {
  if (!isRedisReady(context.redis)) throw redisUnavailable(`Redis is unreachable (connection ${context.redis.status})`);
}

async function listPage(context: RouteContext, query: ListQuery) {
  const store = deadLetterStoreOf(context);
  const { limit, cursor, ...fields } = query;
  const page = await read(context, 'dead-letter list', async () => {
    try {
      return await store.list({ ...toStoreFilter(fields), limit, ...(cursor ? { cursor } : {}) });
    } catch (error) {
      if (error instanceof TypeError && /cursor/.test(error.message)) throw new HttpError(400, 'bad_request', 'cursor is not one this list gave', { field: 'cursor' });
      throw error;
    }
  });
  const counts = await read(context, 'dead-letter counts', async () => Object.fromEntries(await Promise.all(queueNames.map(async (queue) => [queue, await store.count(queue)] as const))));
  return { page, counts, fields, limit };
}

async function recordOf(context: RouteContext, req: Request) {
  const { queue, id } = req.params as { queue: string; id: string };
  if (!(queueNames as readonly string[]).includes(queue)) throw new HttpError(404, 'not_found', `No queue "${queue}"`);
  const record = await read(context, 'dead-letter record', () => deadLetterStoreOf(context).get(queue, id));
  if (!record) throw new HttpError(404, 'not_found', `No dead-letter record "${id}" on queue "${queue}"`);
  return record;
}

export function deadLettersPage(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const { page, counts, fields, limit } = await listPage(context, parseListQuery(req.query));
    res.set('Cache-Control', 'no-store').type('html').send(renderDeadLetterList({ filter: fields, records: page.records, nextCursor: page.nextCursor, limit, counts }));
  };
}

export function deadLettersApi(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const { page, counts } = await listPage(context, parseListQuery(req.query));
    res.set('Cache-Control', 'no-store').json({ records: page.records.map(maskedRecord), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}), counts });
  };
}

export function deadLetterPage(context: RouteContext): RequestHandler {
  return async (req, res) => {
    res.set('Cache-Control', 'no-store').type('html').send(renderDeadLetterRecord(await recordOf(context, req)));
  };
}

export function deadLetterApi(context: RouteContext): RequestHandler {
  return async (req, res) => {
    res.set('Cache-Control', 'no-store').json({ record: maskedRecord(await recordOf(context, req)) });
  };
}

/** A handler behind a JSON body parser (the route table parses forms only). */
function withJson(handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    jsonBody(req, res, (error?: unknown) => {
      if (error) return next(error);
      Promise.resolve(handler(req, res, next)).catch(next);
    });
  };
}

export function redriveApi(context: RouteContext): RequestHandler {
  return withJson(async (req, res) => {
    const request = parseRedriveBody(req.body);
    requireRedis(context);
    const store = deadLetterStoreOf(context);
    const by = principalOf(res).user;
    if (request.dryRun) {
      if (request.edit !== undefined) throw new HttpError(400, 'bad_request', 'a dry run takes no edit', { field: 'edit' });
      res.json({ dryRun: true, ...(await previewRedrive(store, request.selection, by)) });
      return;
    }
    const outcome = await runRedrive(context, request.selection, { by, ...(request.confirm === undefined ? {} : { confirm: request.confirm }), ...(request.edit ? { edit: request.edit } : {}) });
    if ('task' in outcome) {
      res.status(202).location(taskApiUrl(outcome.task.id)).json({ task: outcome.task });
      return;
    }
    res.json(outcome.result);
  });
}

async function taskOf(context: RouteContext, req: Request) {
  const { id } = req.params as { id: string };
  const task = await read(context, 'redrive task', () => readRedriveTask(context, id));
  if (!task) throw new HttpError(404, 'not_found', `No redrive task "${id}" (tasks are kept 24 h)`);
  return task;
}

export function redriveTaskApi(context: RouteContext): RequestHandler {
  return async (req, res) => {
    res.set('Cache-Control', 'no-store').json({ task: await taskOf(context, req) });
  };
}

export function redriveTaskPage(context: RouteContext): RequestHandler {
  return async (req, res) => {
    res.set('Cache-Control', 'no-store').type('html').send(renderRedriveTask(await taskOf(context, req)));
  };
}

export function purgeApi(context: RouteContext): RequestHandler {
  return withJson(async (req, res) => {
    const request = parsePurgeBody(req.body);
    requireRedis(context);
    if (request.dryRun) {
      res.json(await previewPurge(deadLetterStoreOf(context), request.selection));
      return;
    }
    res.json(await runPurge(context, request.selection, { by: principalOf(res).user, confirm: request.confirm! }));
  });
}

function echoOf(action: ActionEcho['action'], form: ReturnType<typeof parseActionForm>): ActionEcho {
  return { action, scope: form.scope, sel: form.sel, fields: form.fields };
}

async function confirmPage(store: DeadLetterStore, echo: ActionEcho, form: ReturnType<typeof parseActionForm>, by: string): Promise<string> {
  if (echo.action === 'redrive') {
    const preview = await previewRedrive(store, form.selection, by);
    const skipped = preview.matched - preview.count;
    return renderActionConfirm(echo, { ...preview, ...(skipped > 0 ? { note: `${skipped} matching record(s) are skipped: a job with the same id is live again.` } : {}) });
  }
  const preview = await previewPurge(store, form.selection);
  return renderActionConfirm(echo, { count: preview.matched, ids: preview.ids ?? [] });
}

/** A form's run whose confirmed count changed: the confirmation again, with the new count, as 409. */
async function onCountChanged(run: () => Promise<string>, again: () => Promise<string>): Promise<{ status: number; page: string }> {
  try {
    return { status: 200, page: await run() };
  } catch (error) {
    if (error instanceof HttpError && error.code === 'count_changed') return { status: 409, page: await again() };
    throw error;
  }
}

export function redriveForm(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const form = parseActionForm(req.body);
    requireRedis(context);
    const store = deadLetterStoreOf(context);
    const by = principalOf(res).user;
    const echo = echoOf('redrive', form);
    // Named records are redriven at once; "all matching" shows its dry run first.
    if (form.step === 'preview' && form.scope === 'filter') {
      res.type('html').send(await confirmPage(store, echo, form, by));
      return;
    }
    let outcome: Awaited<ReturnType<typeof runRedrive>>;
    try {
      outcome = await runRedrive(context, form.selection, { by, ...(form.confirm === undefined ? {} : { confirm: form.confirm }), ...(form.edit ? { edit: form.edit } : {}) });
    } catch (error) {
      if (!(error instanceof HttpError) || error.status !== 409) throw error;
      if (error.code === 'count_changed') {
        res.status(409).type('html').send(await confirmPage(store, echo, form, by));
        return;
      }
      const running = (error.details as { task?: { id: string } } | undefined)?.task?.id;
      res.status(409).type('html').send(renderRedriveRunning(error.message, running));
      return;
    }
    if ('task' in outcome) {
      res.redirect(303, taskPageUrl(outcome.task.id));
      return;
    }
    res.type('html').send(renderRedriveResult(outcome.result));
  };
}

export function purgeForm(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const form = parseActionForm(req.body);
    requireRedis(context);
    const store = deadLetterStoreOf(context);
    const by = principalOf(res).user;
    const echo = echoOf('purge', form);
    if (form.step === 'preview' || form.confirm === undefined) {
      res.type('html').send(await confirmPage(store, echo, form, by));
      return;
    }
    const confirm = form.confirm;
    const { status, page } = await onCountChanged(
      async () => renderPurgeResult(await runPurge(context, form.selection, { by, confirm })),
      () => confirmPage(store, echo, form, by),
    );
    res.status(status).type('html').send(page);
  };
}
