/**
 * Sparklines as inline SVG, drawn on the server so the first paint has them (and a page without
 * JavaScript too); /assets/overview.js redraws them the same way from the stream. One point per
 * value, one unit apart; the height runs from 0 (bottom) to the series' maximum (top), in
 * SPARKLINE_HEIGHT whole steps, so the path stays a few bytes per point (relative moves, flat
 * runs as one `h`). A null value (a minute without data) breaks the line.
 */
import { html, type SafeHtml } from './html.ts';

/** Vertical steps of a sparkline: coarse on purpose, it shows a shape, not values. */
export const SPARKLINE_HEIGHT = 10;

/** The path `d` of `values` (see above); empty when every value is null. */
export function sparklinePath(values: readonly (number | null)[]): string {
  const max = Math.max(0, ...values.map((v) => v ?? 0));
  const yOf = (v: number) => SPARKLINE_HEIGHT - (max > 0 ? Math.round((Math.max(0, v) / max) * SPARKLINE_HEIGHT) : 0);
  let d = '';
  let command = '';
  let previousY: number | undefined;
  let flat = 0;
  let segment = 0;
  const endFlat = () => {
    if (flat > 0) d += `h${flat}`;
    if (flat > 0) command = 'h';
    flat = 0;
  };
  const endSegment = () => {
    endFlat();
    // A lone point: a zero-length line, drawn as a dot by the round line cap.
    if (segment === 1) d += 'h0';
    segment = 0;
    previousY = undefined;
  };
  values.forEach((value, x) => {
    if (value === null) return endSegment();
    const y = yOf(value);
    segment++;
    if (previousY === undefined) {
      d += `M${x} ${y}`;
      command = 'M';
    } else if (y === previousY) {
      flat++;
    } else {
      endFlat();
      const dy = y - previousY;
      const pair = `1${dy < 0 ? '' : ' '}${dy}`;
      d += command === 'l' ? ` ${pair}` : `l${pair}`;
      command = 'l';
    }
    previousY = y;
  });
  endSegment();
  return d;
}

/**
 * The sparkline of `values` as an inline <svg>, hidden from screen readers (its cell says what
 * it is). The stylesheet gives it the viewBox's aspect ratio, 60 : 12 for an hour.
 */
export function renderSparkline(values: readonly (number | null)[] | undefined): SafeHtml {
  const width = Math.max(1, (values?.length ?? 0) - 1);
  return html`<svg viewBox="0 -1 ${width} ${SPARKLINE_HEIGHT + 2}" aria-hidden="true"><path d="${sparklinePath(values ?? [])}"/></svg>`;
}
