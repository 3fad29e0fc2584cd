/**
 * The handler table: one handler per catalog job kind. `satisfies HandlerTable` makes a
 * kind without a handler (or a handler of the wrong payload type) a compile error, so adding
 * a kind to the catalog is not done until its handler file is here.
 */
import type { HandlerTable } from '../handler.ts';
import { createEmailSendHandler, type EmailSendOptions } from './email-send.ts';
import { createReportGenerateHandler, type ReportGenerateOptions } from './report-generate.ts';
import { createWebhookDeliverHandler, type WebhookDeliverOptions } from './webhook-deliver.ts';

export interface HandlerDeps {
  email: EmailSendOptions;
  webhook: WebhookDeliverOptions;
  report: ReportGenerateOptions;
}

export function createHandlers(deps: HandlerDeps) {
  return {
    'email.send': createEmailSendHandler(deps.email),
    'webhook.deliver': createWebhookDeliverHandler(deps.webhook),
    'report.generate': createReportGenerateHandler(deps.report),
  } satisfies HandlerTable;
}
