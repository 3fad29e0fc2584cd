/**
 * Screenshots of the pages the browser tests visit: always into the git-ignored artifact
 * directory (CI keeps it), and with `UPDATE_SCREENSHOTS=1` also into `docs/screenshots/`,
 * the ones the README shows.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from '../stack.ts';

export const ARTIFACT_SCREENSHOTS_DIR = join(repoRoot, 'e2e', 'artifacts', 'screenshots');
export const DOCS_SCREENSHOTS_DIR = join(repoRoot, 'docs', 'screenshots');

export interface ScreenshotOptions {
  /** Capture the whole page, not only the viewport. Default false. */
  fullPage?: boolean;
}

export type SaveScreenshot = (page: Page, name: string, options?: ScreenshotOptions) => Promise<void>;

/** Saves `<name>.png` of the page into every directory; `updateDocs` adds docs/screenshots/. */
export function screenshotSaver(options: { updateDocs: boolean }): SaveScreenshot {
  const dirs = options.updateDocs ? [ARTIFACT_SCREENSHOTS_DIR, DOCS_SCREENSHOTS_DIR] : [ARTIFACT_SCREENSHOTS_DIR];
  let made: Promise<unknown> | undefined;
  return async (page, name, { fullPage = false } = {}) => {
    made ??= Promise.all(dirs.map((dir) => mkdir(dir, { recursive: true })));
    await made;
    // Let the page's fonts and layout settle: a screenshot taken mid-load is half a page.
    await page.waitForLoadState('load');
    const png = await page.screenshot({ fullPage, animations: 'disabled' });
    await Promise.all(dirs.map((dir) => writeFile(join(dir, `${name}.png`), png)));
  };
}
