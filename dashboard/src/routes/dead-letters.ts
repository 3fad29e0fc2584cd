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
 * to the task page (form) at once, and runs in the background (dead-letter-task.ts). Every
 * redrive and purge, dry runs included, writes its own audit entry: who, which queue, which
 * records (ids or filter), how many, and how it ended (dead-letter-audit.ts).
 */
import { isRedisReady, queueNames, type DeadLetterStore } from '@conveyor/shared';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { principalOf } from '../access/access-control.ts';
import { deadLetterStoreOf, previewPurge, previewRedrive, runPurge, runRedrive } from '../dead-letter-actions.ts';
import { auditedDeadLetterAction, purgeDetail, redriveDetail, type DeadLetterActionOutcome } from '../dead-letter-audit.ts';
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
    await auditedDeadLetterAction(context, req, res, { action: 'redrive', selection: request.selection, dryRun: request.dryRun }, async (): Promise<DeadLetterActionOutcome> => {
      requireRedis(context);
      const store = deadLetterStoreOf(context);
      const by = principalOf(res).user;
      if (request.dryRun) {
        if (request.edit !== undefined) throw new HttpError(400, 'bad_request', 'a dry run takes no edit', { field: 'edit' });
        const preview = await previewRedrive(store, request.selection, by);
        return { status: 200, count: preview.count, detail: redriveDetail.preview(preview), respond: () => res.json({ dryRun: true, ...preview }) };
      }
      const outcome = await runRedrive(context, request.selection, { by, ...(request.confirm === undefined ? {} : { confirm: request.confirm }), ...(request.edit ? { edit: request.edit } : {}) });
      if ('task' in outcome) {
        const { task } = outcome;
        return { status: 202, count: task.total, detail: redriveDetail.task(task), respond: () => res.status(202).location(taskApiUrl(task.id)).json({ task }) };
      }
      return { status: 200, count: outcome.result.redriven, detail: redriveDetail.result(outcome.result), respond: () => res.json(outcome.result) };
    });
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
    await auditedDeadLetterAction(context, req, res, { action: 'purge', selection: request.selection, dryRun: request.dryRun }, async () => {
      requireRedis(context);
      const outcome = request.dryRun
        ? await previewPurge(deadLetterStoreOf(context), request.selection)
        : await runPurge(context, request.selection, { by: principalOf(res).user, confirm: request.confirm! });
      return { status: 200, count: outcome.dryRun ? outcome.matched : outcome.purged, detail: purgeDetail(outcome), respond: () => res.json(outcome) };
    });
  });
}

function echoOf(action: ActionEcho['action'], form: ReturnType<typeof parseActionForm>): ActionEcho {
  return { action, scope: form.scope, sel: form.sel, fields: form.fields };
}

/** A form's dry run: the confirmation page, and its count and words for the audit log. */
async function confirmPage(store: DeadLetterStore, echo: ActionEcho, form: ReturnType<typeof parseActionForm>, by: string): Promise<{ html: string; count: number; detail: string }> {
  if (echo.action === 'redrive') {
    const preview = await previewRedrive(store, form.selection, by);
    const skipped = preview.matched - preview.count;
    const html = renderActionConfirm(echo, { ...preview, ...(skipped > 0 ? { note: `${skipped} matching record(s) are skipped: a job with the same id is live again.` } : {}) });
    return { html, count: preview.count, detail: redriveDetail.preview(preview) };
  }
  const preview = await previewPurge(store, form.selection);
  return { html: renderActionConfirm(echo, { count: preview.matched, ids: preview.ids ?? [] }), count: preview.matched, detail: purgeDetail(preview) };
}

/** Answers the request with an HTML page. */
const sendPage = (res: Response, status: number, page: string) => () => res.status(status).type('html').send(page);

/** A form's run refused because the confirmed count changed: the confirmation again, with the new count, as 409. */
async function countChanged(error: HttpError, res: Response, again: () => ReturnType<typeof confirmPage>): Promise<DeadLetterActionOutcome> {
  const confirm = await again();
  return { status: 409, detail: `${error.code}: ${error.message}`, respond: sendPage(res, 409, confirm.html) };
}

export function redriveForm(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const form = parseActionForm(req.body);
    // Named records are redriven at once; "all matching" shows its dry run first.
    const dryRun = form.step === 'preview' && form.scope === 'filter';
    await auditedDeadLetterAction(context, req, res, { action: 'redrive', selection: form.selection, dryRun }, async (): Promise<DeadLetterActionOutcome> => {
      requireRedis(context);
      const store = deadLetterStoreOf(context);
      const by = principalOf(res).user;
      const again = () => confirmPage(store, echoOf('redrive', form), form, by);
      if (dryRun) {
        const confirm = await again();
        return { status: 200, count: confirm.count, detail: confirm.detail, respond: sendPage(res, 200, confirm.html) };
      }
      let outcome: Awaited<ReturnType<typeof runRedrive>>;
      try {
        outcome = await runRedrive(context, form.selection, { by, ...(form.confirm === undefined ? {} : { confirm: form.confirm }), ...(form.edit ? { edit: form.edit } : {}) });
      } catch (error) {
        if (!(error instanceof HttpError) || error.status !== 409) throw error;
        if (error.code === 'count_changed') return countChanged(error, res, again);
        const running = (error.details as { task?: { id: string } } | undefined)?.task?.id;
        return { status: 409, detail: `${error.code}: ${error.message}`, respond: sendPage(res, 409, renderRedriveRunning(error.message, running)) };
      }
      if ('task' in outcome) {
        const { task } = outcome;
        return { status: 303, count: task.total, detail: redriveDetail.task(task), respond: () => res.redirect(303, taskPageUrl(task.id)) };
      }
      return { status: 200, count: outcome.result.redriven, detail: redriveDetail.result(outcome.result), respond: sendPage(res, 200, renderRedriveResult(outcome.result)) };
    });
  };
}

export function purgeForm(context: RouteContext): RequestHandler {
  return async (req, res) => {
    const form = parseActionForm(req.body);
    const { confirm } = form;
    const dryRun = form.step === 'preview' || confirm === undefined;
    await auditedDeadLetterAction(context, req, res, { action: 'purge', selection: form.selection, dryRun }, async (): Promise<DeadLetterActionOutcome> => {
      requireRedis(context);
      const store = deadLetterStoreOf(context);
      const by = principalOf(res).user;
      const again = () => confirmPage(store, echoOf('purge', form), form, by);
      if (dryRun) {
        const shown = await again();
        return { status: 200, count: shown.count, detail: shown.detail, respond: sendPage(res, 200, shown.html) };
      }
      try {
        const outcome = await runPurge(context, form.selection, { by, confirm });
        return { status: 200, count: outcome.purged, detail: purgeDetail(outcome), respond: sendPage(res, 200, renderPurgeResult(outcome)) };
      } catch (error) {
        if (error instanceof HttpError && error.code === 'count_changed') return countChanged(error, res, again);
        throw error;
      }
    });
  };
}
