/**
 * Every state-changing route the dashboard serves, found by walking the live Express router
 * stacks (ours and bull-board's) rather than a hand-kept list, must refuse: a caller who is not
 * signed in (401), a viewer (403 forbidden), and an operator without a CSRF defence (403
 * csrf_failed), changing nothing. A new route added without protection fails here.
 */
import { appRoutes } from '@bull-board/api/dist/routes.js';
import { testPrefix } from '@conveyor/shared/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { basic, signIn, testUsers, type SignedIn } from './access-fixture.ts';
import { createBoard } from './board.ts';
import { startDashboard, type DashboardFixture } from './dashboard-fixture.ts';

const redisUrl = inject('redisUrl');

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  rawPath?: string;
  handle: { stack?: Layer[] };
}

interface Endpoint {
  method: string;
  path: string;
}

const UNSAFE = ['post', 'put', 'patch', 'delete'];
const samples: Record<string, string> = { queueName: 'email', name: 'email', jobId: 'route-test-job', queueStatus: 'failed', schedulerId: 'route-test-scheduler' };

/** Every (method, path) a router stack answers, sub-routers included; `mounts` collects `use` paths. */
function walk(stack: readonly Layer[], base: string, mounts: string[]): Endpoint[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const paths = [layer.route.path].flat();
      const methods = Object.keys(layer.route.methods).flatMap((m) => (m === '_all' ? UNSAFE : [m]));
      return paths.flatMap((path) => methods.map((method) => ({ method, path: `${base}${path}` })));
    }
    const mountPath = layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '';
    if (mountPath) mounts.push(`${base}${mountPath}`);
    return layer.handle.stack ? walk(layer.handle.stack, `${base}${mountPath}`, mounts) : [];
  });
}

function concrete(path: string): string {
  return path.replace(/:(\w+)/g, (_, name: string) => samples[name] ?? 'x');
}

describe('every state-changing route refuses callers without the right to change state', () => {
  const prefix = testPrefix('routes');
  let dash: DashboardFixture;
  let viewer: SignedIn;
  let operator: SignedIn;
  let unsafe: Endpoint[];
  let mounts: string[];

  beforeAll(async () => {
    const users = await testUsers({ ada: { role: 'operator', password: 'ada-password' }, bob: { role: 'viewer', password: 'bob-password' } });
    dash = await startDashboard({ redisUrl, prefix, access: { users, sessionSecret: 'routes-test-secret-of-at-least-32-chars' } });
    [viewer, operator] = await Promise.all([signIn(dash.url, 'bob', 'bob-password'), signIn(dash.url, 'ada', 'ada-password')]);

    mounts = [];
    const ours = walk((dash.app as unknown as { router: { stack: Layer[] } }).router.stack, '', mounts);
    // bull-board's routes live in its own Express app, mounted at /queues; walk one built the same way.
    const board = createBoard({ queues: dash.queues.all() });
    const boardRoutes = walk((board.router as unknown as { router: { stack: Layer[] } }).router.stack, board.basePath, []);
    unsafe = [...ours, ...boardRoutes].filter((e) => UNSAFE.includes(e.method));

    // Something to retry, promote or remove, so a missing guard would show as a change.
    await dash.queues.get('email').add('email.send', { to: 'a@example.com', subject: 's', body: 'b' }, { jobId: 'route-test-job', delay: 60_000 });
  });

  afterAll(async () => {
    await dash?.close();
  });

  async function snapshot(): Promise<unknown> {
    return Promise.all(
      [...dash.queues.all(), ...dash.queues.allDeadLetterQueues()].map(async (q) => ({ name: q.name, paused: await q.isPaused(), counts: await q.getJobCounts() })),
    );
  }

  it("finds our routes and every one of bull-board's mutating API routes", () => {
    const found = new Set(unsafe.map((e) => `${e.method.toUpperCase()} ${e.path}`));
    expect(found).toContain('POST /login');
    expect(found).toContain('POST /logout');
    const bullBoard = appRoutes.api.flatMap((r) => [r.method].flat().filter((m) => m !== 'get').map((m) => `${m.toUpperCase()} /queues${r.route}`));
    expect(bullBoard.length).toBeGreaterThan(20);
    for (const route of bullBoard) expect(found, route).toContain(route);
    expect(mounts).toEqual(expect.arrayContaining(['/assets', '/queues']));
  });

  it('answers 401 to a caller who is not signed in, 403 to a viewer, 403 csrf_failed to an operator without a token', async () => {
    const before = await snapshot();
    const code = async (response: Response) => ((await response.json()) as { error?: { code?: string } }).error?.code;
    // Besides each route, an unknown write under each mount (static files, bull-board) and outside them.
    const probes: Endpoint[] = [
      ...unsafe,
      ...mounts.flatMap((mount) => UNSAFE.map((method) => ({ method, path: `${mount}/route-test-unknown` }))),
      { method: 'post', path: '/route-test-unknown' },
    ];
    for (const { method, path } of probes) {
      const url = `${dash.url}${concrete(path)}`;
      const what = `${method.toUpperCase()} ${path}`;
      const init = (headers: Record<string, string>): RequestInit => ({
        method: method.toUpperCase(),
        redirect: 'manual',
        headers: { 'content-type': 'application/json', ...headers },
        body: '{}',
      });

      if (what === 'POST /login') {
        // Public by design; its own defence is the sign-in form's CSRF cookie.
        const forged = await fetch(url, { ...init({ 'content-type': 'application/x-www-form-urlencoded' }), body: 'user=ada&password=ada-password&csrf=x' });
        expect(forged.status, what).toBe(403);
        continue;
      }

      const anonymous = await fetch(url, init({}));
      expect(anonymous.status, `${what} without sign-in`).toBe(401);

      // Signing out is the one change a viewer may make (their own session).
      if (what !== 'POST /logout') {
        const asViewer = await fetch(url, init({ cookie: viewer.cookie, 'x-csrf-token': viewer.csrf, origin: dash.url }));
        expect(asViewer.status, `${what} as a viewer`).toBe(403);
        expect(await code(asViewer), `${what} as a viewer`).toBe('forbidden');
      }

      const noToken = await fetch(url, init({ cookie: operator.cookie }));
      expect(noToken.status, `${what} as an operator without a token`).toBe(403);
      expect(await code(noToken), `${what} as an operator without a token`).toBe('csrf_failed');

      const crossSite = await fetch(url, init({ cookie: operator.cookie, origin: 'http://evil.example' }));
      expect(crossSite.status, `${what} as an operator from another origin`).toBe(403);

      const basicNoHeader = await fetch(url, init({ authorization: basic('ada', 'ada-password') }));
      expect(basicNoHeader.status, `${what} with Basic and no X-Requested-By`).toBe(403);
    }
    expect(await snapshot()).toEqual(before);
  });
});
