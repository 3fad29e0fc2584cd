/**
 * /assets/* : the pages' stylesheet and scripts, served from src/ui/assets, and under
 * /assets/vendor/ the few third-party files they use, served straight from node_modules (the
 * machines are offline: no CDN): uPlot's script and stylesheet for the queue detail charts.
 */
import express, { type RequestHandler } from 'express';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const assetsDir = fileURLToPath(new URL('../ui/assets/', import.meta.url));
const require = createRequire(import.meta.url);

/** Vendor file name under /assets/vendor/ → the package file it is. */
const vendorFiles: Readonly<Record<string, string>> = {
  'uplot.js': 'uplot/dist/uPlot.iife.min.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
};

export function assets(): RequestHandler {
  const router = express.Router();
  for (const [name, file] of Object.entries(vendorFiles)) {
    const path = require.resolve(file);
    router.get(`/vendor/${name}`, (_req, res, next) => {
      res.sendFile(path, { maxAge: '1h' }, (error) => {
        if (error) next(error);
      });
    });
  }
  router.use(express.static(assetsDir, { index: false, redirect: false, maxAge: '5m' }));
  return router;
}
