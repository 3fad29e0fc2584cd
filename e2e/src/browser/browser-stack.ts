/**
 * The browser tests' fixture: the whole stack as real processes (stack.ts: producer, worker and
 * dashboard on the run's private redis-server), the dashboard with two users — an operator
 * and a viewer — whose DASHBOARD_USERS hashes come from the real `hash-password` script, an
 * alert rules file so /alerts has rules to show, and one chromium for the test file with a
 * new context (its own cookies) per user.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createCloser } from '@conveyor/shared';
import { testPrefix } from '@conveyor/shared/testing';
import { repoRoot, startStack, type Stack } from '../stack.ts';
import { launchChromium } from './chromium.ts';
import { screenshotSaver, type SaveScreenshot } from './screenshots.ts';

export interface DashboardLogin {
  name: string;
  role: 'operator' | 'viewer';
  password: string;
}

export interface Viewport {
  width: number;
  height: number;
}

export const LAPTOP_VIEWPORT: Viewport = { width: 1280, height: 800 };
export const PHONE_VIEWPORT: Viewport = { width: 390, height: 844 };

export interface BrowserStackOptions {
  redisUrl: string;
  /** The chromium binary (chromium.ts). */
  executablePath: string;
  /** Also write screenshots to docs/screenshots/. Default false. */
  updateDocs?: boolean;
  /** More environment for every app, over the fixture's own. */
  env?: Record<string, string>;
}

export interface BrowserStack {
  stack: Stack;
  browser: Browser;
  users: { operator: DashboardLogin; viewer: DashboardLogin };
  /** Every URL a page of any context asked for so far (documents, scripts, styles, fonts, fetches, streams), in order. */
  requests: string[];
  /** A new context on the dashboard (base URL set, laptop viewport unless given); closed with the fixture. */
  newContext(options?: { viewport?: Viewport; isMobile?: boolean }): Promise<BrowserContext>;
  /** A page in a new context, signed in as `user` through the login form. */
  signedIn(user: DashboardLogin, options?: { viewport?: Viewport; isMobile?: boolean }): Promise<Page>;
  /** Saves a PNG of the page (screenshots.ts). */
  screenshot: SaveScreenshot;
  /** Closes the browser, stops the apps and removes the temp files; resolves the apps' exit codes. */
  close(): Promise<Record<string, number | null>>;
}

/** Alert rules for the stack: one that fires once a webhook job dead-letters, two that stay quiet. */
const ALERT_RULES = {
  rules: [
    { name: 'email backlog', queue: 'email', when: { backlogAbove: 500 } },
    { name: 'webhook dead letters', queue: 'webhook', when: { deadLetterGrowthAbove: 0, windowSec: 300 } },
    { name: 'no workers', queue: '*', when: { noLiveWorkers: true }, for: 30 },
  ],
};

/** A DASHBOARD_USERS hash made the way the README says: the password piped into `hash-password`. */
function hashPassword(password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('scripts', 'hash-password.ts')], {
      cwd: join(repoRoot, 'dashboard'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const hash = stdout.trim();
      if (code === 0 && hash.startsWith('scrypt$')) resolve(hash);
      else reject(new Error(`hash-password exited ${code}: ${stderr.trim()}`));
    });
    child.stdin.end(password);
  });
}

/** Signs `page` in through the form at /login and waits to leave it. */
export async function signIn(page: Page, user: DashboardLogin): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('User', { exact: true }).fill(user.name);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await Promise.all([
    page.waitForURL((url) => url.pathname !== '/login'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

export async function startBrowserStack(options: BrowserStackOptions): Promise<BrowserStack> {
  const closer = createCloser();
  let exitCodes: Record<string, number | null> = {};
  try {
    const users = {
      operator: { name: 'ada', role: 'operator', password: `op-${randomBytes(9).toString('base64url')}` },
      viewer: { name: 'bob', role: 'viewer', password: `view-${randomBytes(9).toString('base64url')}` },
    } satisfies Record<string, DashboardLogin>;
    const dir = await mkdtemp(join(tmpdir(), 'conveyor-browser-'));
    closer.add('temp dir', () => rm(dir, { recursive: true, force: true }));
    const rulesFile = join(dir, 'alert-rules.json');
    const [operatorHash, viewerHash] = await Promise.all([
      hashPassword(users.operator.password),
      hashPassword(users.viewer.password),
      writeFile(rulesFile, JSON.stringify(ALERT_RULES)),
    ]);

    const stack = await startStack({
      REDIS_URL: options.redisUrl,
      CONVEYOR_PREFIX: testPrefix('browser'),
      HOST: '127.0.0.1',
      DASHBOARD_USERS: `${users.operator.name}:operator:${operatorHash},${users.viewer.name}:viewer:${viewerHash}`,
      // The overview refreshes itself twice a second, so a test sees counts move within moments.
      DASHBOARD_REFRESH_MS: '500',
      DASHBOARD_ALERT_RULES_FILE: rulesFile,
      DASHBOARD_ALERT_INTERVAL_MS: '1000',
      EMAIL_LATENCY_MS: '100',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      WEBHOOK_SIGNING_SECRET: 'browser-e2e-signing-secret',
      ...options.env,
    });
    closer.add('stack', async () => {
      exitCodes = await stack.stop();
    });

    const browser = await launchChromium(options.executablePath);
    closer.add('browser', () => browser.close());
    const requests: string[] = [];

    const newContext: BrowserStack['newContext'] = async ({ viewport = LAPTOP_VIEWPORT, isMobile = false } = {}) => {
      const context = await browser.newContext({ baseURL: stack.dashboardUrl, viewport, isMobile, hasTouch: isMobile });
      closer.add('browser context', () => context.close());
      context.on('request', (request) => requests.push(request.url()));
      return context;
    };

    return {
      stack,
      browser,
      users,
      requests,
      newContext,
      async signedIn(user, contextOptions) {
        const page = await (await newContext(contextOptions)).newPage();
        await signIn(page, user);
        return page;
      },
      screenshot: screenshotSaver({ updateDocs: options.updateDocs ?? false }),
      async close() {
        await closer.close();
        return exitCodes;
      },
    };
  } catch (error) {
    await closer.close().catch(() => undefined);
    throw error;
  }
}
