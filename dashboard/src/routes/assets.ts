/** /assets/* : the overview's stylesheet and refresh script, served from src/ui/assets. */
import express, { type RequestHandler } from 'express';
import { fileURLToPath } from 'node:url';

const assetsDir = fileURLToPath(new URL('../ui/assets/', import.meta.url));

export function assets(): RequestHandler {
  return express.static(assetsDir, { index: false, redirect: false, maxAge: '5m' });
}
