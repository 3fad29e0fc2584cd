/**
 * The API's documentation, outside `/v1` and needing no API key:
 *
 *   GET /openapi.json        the OpenAPI 3.1 document, generated from the catalog
 *   GET /docs                the same as an HTML page (no script, no external asset)
 *   GET /docs/assets/*       the page's stylesheet
 *
 * The document and the page are built on first request and kept for the life of the process.
 */
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';
import { DOCS_ASSETS_PATH, renderDocsPage } from '../openapi/docs-page.ts';
import { openApiDocument, type DocumentLimits } from '../openapi/openapi-document.ts';

const assetsDir = fileURLToPath(new URL('../openapi/assets/', import.meta.url));

export function docsRouter(limits: Partial<DocumentLimits>): Router {
  const router = Router();
  let documentJson: string | undefined;
  let page: string | undefined;

  router.get('/openapi.json', (_req, res) => {
    documentJson ??= JSON.stringify(openApiDocument(limits));
    res.set('Cache-Control', 'no-cache').type('application/json').send(documentJson);
  });
  router.get('/docs', (_req, res) => {
    page ??= renderDocsPage(openApiDocument(limits));
    res.set('Cache-Control', 'no-cache').type('html').send(page);
  });
  // Unknown asset names fall through to the app's 404 envelope.
  router.use(DOCS_ASSETS_PATH, express.static(assetsDir, { index: false, redirect: false, fallthrough: true, maxAge: '1h' }));
  return router;
}
