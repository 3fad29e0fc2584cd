/**
 * Test helper: every route an express 5 app answers, read from its router stack, with the
 * paths of mounted routers put back together (`app.use('/v1/jobs', router)` + `router.get('/:id')`
 * → `/v1/jobs/:id`). The OpenAPI test compares them with the document, so that a route added
 * without documentation fails it.
 *
 * Express 5's router (`router` 2.x) keeps each layer's path as written in `layer.rawPath`; a
 * layer with a `route` is an endpoint (`route.path`, `route.methods`), a layer whose handle has a
 * `stack` is a mounted router, anything else is middleware and not a route.
 */
import type { Express } from 'express';

export interface AppRoute {
  /** Lower case: `get`, `post`, … (`all` for `router.all`). */
  method: string;
  /** The express path, prefixes joined: `/v1/jobs/:name/:id`, `/v1/jobs\:bulk`. */
  expressPath: string;
  /** The same as an OpenAPI path template: `/v1/jobs/{name}/{id}`, `/v1/jobs:bulk`. */
  openApiPath: string;
}

interface StackLayer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: StackLayer[] };
}

/** Every (method, path) the app routes, in registration order. */
export function listAppRoutes(app: Express): AppRoute[] {
  const root = (app as unknown as { router?: { stack?: StackLayer[] } }).router?.stack;
  if (!Array.isArray(root)) throw new Error('app.router.stack not found: is this express 5?');
  const routes: AppRoute[] = [];
  walk(root, '', routes);
  return routes;
}

function walk(stack: readonly StackLayer[], prefix: string, routes: AppRoute[]): void {
  for (const layer of stack) {
    if (layer.route) {
      for (const path of pathsOf(layer.route.path)) {
        const expressPath = joinPaths(prefix, path);
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on) routes.push({ method: method === '_all' ? 'all' : method, expressPath, openApiPath: toOpenApiPath(expressPath) });
        }
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      if (!('rawPath' in layer)) throw new Error('router layers have no rawPath: this express/router version is not supported');
      for (const path of pathsOf(layer.rawPath)) walk(layer.handle.stack, joinPaths(prefix, path), routes);
    }
  }
}

function pathsOf(path: unknown): string[] {
  const paths = Array.isArray(path) ? path.flat(Infinity) : [path];
  return paths.map((one) => {
    if (typeof one !== 'string') throw new Error(`a route or mount path is not a string (${String(one)}): it cannot be checked against the document`);
    return one;
  });
}

/** `/v1` + `/jobs/:id` → `/v1/jobs/:id`; a mount at `/` adds nothing; no trailing slash. */
export function joinPaths(prefix: string, path: string): string {
  const joined = `${prefix}/${path}`.replace(/\/{2,}/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/**
 * An express 5 path (path-to-regexp 8) as an OpenAPI template: `:name` → `{name}`, `\:` → `:`.
 * Wildcards (`*rest`) and optional groups (`{…}`) have no OpenAPI form: they throw.
 */
export function toOpenApiPath(expressPath: string): string {
  let out = '';
  for (let i = 0; i < expressPath.length; i++) {
    const char = expressPath[i]!;
    if (char === '\\') {
      out += expressPath[++i] ?? '';
    } else if (char === ':') {
      const name = /^[A-Za-z_$][\w$]*/.exec(expressPath.slice(i + 1))?.[0];
      if (!name) throw new Error(`unnamed parameter in ${expressPath}`);
      out += `{${name}}`;
      i += name.length;
    } else if (char === '*' || char === '{' || char === '}') {
      throw new Error(`${expressPath}: wildcards and optional groups have no OpenAPI path form`);
    } else {
      out += char;
    }
  }
  return out;
}
