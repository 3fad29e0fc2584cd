/**
 * Who a page is rendered for, without every page handler passing it: the access middleware
 * fills a per-request context (AsyncLocalStorage) that `renderPage` reads for the signed-in
 * user, the sign-out form's CSRF token and the no-users banner. Pages added later get all
 * three for free; a page rendered outside a request (a test) simply has none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestHandler } from 'express';

export interface PageContext {
  /** No users configured: everyone is operator `local`, and every page says so. */
  localMode: boolean;
  /** The signed-in user, once known. */
  user?: { name: string; role: string; via: string };
  /** The CSRF token forms and scripts must send back (`_csrf` field or `X-CSRF-Token` header). */
  csrfToken?: string;
}

const storage = new AsyncLocalStorage<PageContext>();

/** Opens the request's page context; mount first. */
export function pageContext(options: { localMode: boolean }): RequestHandler {
  return (_req, _res, next) => storage.run({ localMode: options.localMode }, next);
}

/** The current request's context, if any. */
export function currentPageContext(): PageContext | undefined {
  return storage.getStore();
}
