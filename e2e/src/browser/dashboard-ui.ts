/**
 * The dashboard's pages as the browser tests drive and read them: the top navigation, the
 * search box, the overview's figure cells. Selectors live here, so a markup change is one edit.
 */
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

/** Clicks a link of the top navigation (`Overview`, `Search`, `Dead letters`, …) and waits for the page. */
export async function openNav(page: Page, name: string): Promise<void> {
  await page.locator('header.top nav').getByRole('link', { name, exact: true }).click();
  await page.waitForLoadState();
}

/** Types `query` into the search page's box and submits it. */
export async function search(page: Page, query: string): Promise<void> {
  await page.getByRole('searchbox').fill(query);
  await Promise.all([page.waitForURL(/\/search\?q=/), page.getByRole('button', { name: 'Search' }).click()]);
}

/** The row of a result table (search, dead letters) whose link reads exactly `id`. */
export function rowLinking(page: Page, table: string, id: string): Locator {
  return page.locator(`${table} tbody tr`, { has: page.getByRole('link', { name: id, exact: true }) });
}

/** The overview's figures for one queue as the page shows them now, by figure key (`arrivalRate`: `0.2/s`). */
export async function overviewFigures(page: Page, queue: string): Promise<Record<string, string>> {
  return page.locator(`tr[data-queue="${queue}"] td[data-figure]`).evaluateAll((cells) =>
    Object.fromEntries(cells.map((cell) => [cell.getAttribute('data-figure'), cell.textContent?.trim() ?? ''])),
  );
}

/** `0.2/s` or `42.9 %` → the number; a figure not known yet (`–`) → 0. */
export function figureValue(text: string): number {
  const value = Number.parseFloat(text);
  return Number.isFinite(value) ? value : 0;
}

/** Asserts the first element's text contains `text`, once it is there. */
export async function expectText(locator: Locator, text: string): Promise<void> {
  await locator.first().waitFor();
  expect(await locator.first().textContent()).toContain(text);
}

/** The rendered text (CSS text-transform applied: innerText) of every visible element of the page whose own text has a Greek letter. */
export async function renderedGreek(page: Page): Promise<string[]> {
  return page.locator('main').evaluate((main) => {
    interface Shown {
      nodeType: number;
      textContent: string | null;
      childNodes: ArrayLike<Shown>;
      innerText?: string;
      offsetParent?: unknown;
    }
    const found: string[] = [];
    const visit = (element: Shown) => {
      const own = Array.from(element.childNodes).filter((child) => child.nodeType === 3).map((child) => child.textContent ?? '').join('');
      if (/[\u0370-\u03ff]/.test(own) && element.offsetParent !== null) found.push(element.innerText ?? '');
      for (const child of Array.from(element.childNodes)) if (child.nodeType === 1) visit(child);
    };
    visit(main as unknown as Shown);
    return found;
  });
}

/** How wide the page lays out against its viewport, in CSS px: the document's and the body's scroll widths, and the viewport's. */
export async function pageWidths(page: Page): Promise<{ page: number; body: number; viewport: number }> {
  // A string: this package type-checks without the DOM library.
  return page.evaluate('({ page: document.documentElement.scrollWidth, body: document.body.scrollWidth, viewport: window.innerWidth })');
}

/** An element's scroll and client widths and its computed `overflow-x`. */
export async function scrollBox(locator: Locator): Promise<{ scroll: number; client: number; overflowX: string }> {
  return locator.evaluate((box: { scrollWidth: number; clientWidth: number; ownerDocument: { defaultView: { getComputedStyle(e: unknown): { overflowX: string } } | null } }) => ({
    scroll: box.scrollWidth,
    client: box.clientWidth,
    overflowX: box.ownerDocument.defaultView?.getComputedStyle(box).overflowX ?? '',
  }));
}
