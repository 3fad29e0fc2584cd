/**
 * Which chromium the browser tests drive: Debian's, through playwright-core, which never
 * downloads a browser of its own. `CHROMIUM_PATH` names one; else the usual Debian and Ubuntu
 * paths are tried, then `chromium` and `chromium-browser` on PATH. Without one, CI fails (it
 * installs chromium in .ci/run) and a developer's run skips the browser tests with a warning
 * that says how to get it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Tried in order after `CHROMIUM_PATH`. */
export const CHROMIUM_CANDIDATES: readonly string[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export const CHROMIUM_INSTALL_HINT = 'install it: apt-get install -y chromium (or set CHROMIUM_PATH to a chromium binary)';

/**
 * Flags for a headless chromium as root in a container: no sandbox (it needs user namespaces),
 * no GPU, and none of the background traffic (updates, sync, QUIC probes) a test never wants.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The chromium binary to drive, or undefined when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const named = env.CHROMIUM_PATH?.trim();
  if (named) return isExecutable(named) ? named : undefined;
  const onPath = (env.PATH ?? '').split(delimiter).filter(Boolean).flatMap((dir) => ['chromium', 'chromium-browser'].map((name) => join(dir, name)));
  return [...CHROMIUM_CANDIDATES, ...onPath].find(isExecutable);
}

/**
 * The chromium for this test file. Missing: throws under CI (the whole file fails with the
 * fix in its message); elsewhere prints a loud warning and returns undefined, and the caller
 * skips its tests.
 */
export function chromiumForTests(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const found = findChromium(env);
  if (found) return found;
  const where = env.CHROMIUM_PATH?.trim()
    ? `CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable`
    : `neither ${CHROMIUM_CANDIDATES.join(' nor ')} exists, nor chromium on PATH`;
  const message = `No chromium for the browser tests (${where}): ${CHROMIUM_INSTALL_HINT}`;
  if (env.CI && !/^(0|false)$/i.test(env.CI)) throw new Error(message);
  const rule = '!'.repeat(100);
  console.warn(`\n${rule}\n!! SKIPPING THE BROWSER TESTS. ${message}\n${rule}\n`);
  return undefined;
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
}
