/**
 * bull-board, mounted for every catalog queue: the job-level UI (browse, inspect, retry,
 * clean) that the overview links into. Payloads, dead-letter records and scheduler templates
 * are shown with their sensitive fields masked (masking-adapter.ts).
 *
 * Read-only mode is a property of each bull-board queue adapter, fixed when the board is
 * built. So app.ts builds two boards over the same queues, `createBoard({ queues, readOnly: true })`
 * for viewers and `createBoard({ queues })` for operators, and routes each request to one of
 * them by the caller's role; both share the same basePath.
 *
 * bull-board's page template links a font stylesheet on fonts.googleapis.com. The machines this
 * runs on are offline and the CSP (app.ts) allows nothing off-host, so each board renders its
 * page through the adapter's own view engine and drops every `<link>` to another host
 * (`withoutOffHostLinks`); the UI then uses the system font. Nothing is copied or vendored.
 */
import { createBullBoard } from '@bull-board/api';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express } from 'express';
import { maskDeadLetterRecord, maskPayloadOf, MaskingBullMQAdapter } from './masking-adapter.ts';
import { describeQueue } from './queue-overview.ts';

export interface BoardOptions {
  /** The queues to show, one bull-board entry each. */
  queues: readonly Queue[];
  /** Their dead-letter queues, shown read-only: records leave them by redrive or purge, not by bull-board's retry. */
  deadLetterQueues?: readonly Queue[];
  /** URL path the board is mounted at. Default `/queues`. */
  basePath?: string;
  /** Hide every action that changes a queue or a job (retry, clean, pause, add…). Default false. */
  readOnly?: boolean;
}

export interface Board {
  basePath: string;
  readOnly: boolean;
  /** An Express sub-app serving the UI, its assets and its `/api`; mount it at `basePath`. */
  router: Express;
}

const defaults = { basePath: '/queues', readOnly: false } as const;

/** An Express view engine: renders the template at `path` with `options`. */
type ViewEngine = (path: string, options: object, callback: (error: Error | null, rendered?: string) => void) => void;

/** `page` without its `<link>` elements that point at another host (`https://…`, `http://…`, `//…`). */
export function withoutOffHostLinks(page: string): string {
  return page.replace(/<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?\/\/[^>]*>[ \t]*\n?/gi, '');
}

/** Wraps the `.ejs` engine bull-board's adapter registered so that its page loses its off-host links. */
function renderWithoutOffHostLinks(router: Express): void {
  // Express keeps registered engines in `app.engines` (lib/application.js); its types omit it.
  const renderEjs = (router as Express & { engines: Record<string, ViewEngine | undefined> }).engines['.ejs'];
  if (!renderEjs) throw new Error("bull-board's adapter registered no .ejs view engine: check withoutOffHostLinks against the new version");
  router.engine('ejs', (path, options, callback) =>
    renderEjs(path, options, (error, rendered) => callback(error, rendered === undefined ? rendered : withoutOffHostLinks(rendered))),
  );
}

export function createBoard(options: BoardOptions): Board {
  const { queues, basePath, readOnly, deadLetterQueues = [] } = { ...defaults, ...options };
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map(
      (queue) =>
        new MaskingBullMQAdapter(queue, { readOnlyMode: readOnly, description: describeQueue(queue.name) }, maskPayloadOf(queue.name)),
    ).concat(
      deadLetterQueues.map(
        (queue) =>
          new MaskingBullMQAdapter(
            queue,
            { readOnlyMode: true, description: `Dead letters of "${queue.name.replace(/-dlq$/, '')}": jobs that failed for good (read-only here)` },
            maskDeadLetterRecord,
          ),
      ),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'Conveyor',
        miscLinks: [{ text: 'Overview', url: '/' }],
        hideDocsLink: true,
      },
    },
  });
  const router = serverAdapter.getRouter() as Express;
  // The adapter builds its own Express app, which would announce itself on every response.
  router.disable('x-powered-by');
  renderWithoutOffHostLinks(router);
  return { basePath, readOnly, router };
}
