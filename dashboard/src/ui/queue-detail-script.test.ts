/**
 * /assets/queue-detail.js run in a bare VM context, with uPlot, fetch and the few DOM calls it
 * makes stubbed: what it asks uPlot to draw for a given history answer.
 */
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

const script = readFileSync(new URL('./assets/queue-detail.js', import.meta.url), 'utf8');

type PointsShow = (u: { data: unknown[] }, seriesIdx: number) => boolean;
type PointsFilter = (u: { data: unknown[] }, seriesIdx: number, show: boolean) => number[] | null;
interface Chart {
  key: string;
  series: { label: string; points: { show: PointsShow; filter: PointsFilter } }[];
  data: (number | null)[][];
}

/** Runs the script against a history whose points have these arrival rates; resolves with every chart it drew. */
async function chartsFor(arrivalRates: (number | null)[]): Promise<Chart[]> {
  const charts: Chart[] = [];
  const plots = ['rates', 'backlog'].map((key) => ({ dataset: { chart: key }, clientWidth: 600, textContent: '' }));
  const points = arrivalRates.map((arrivalRate, i) => ({
    fromMs: i * 60_000,
    arrivalRate,
    completionRate: null,
    inQueue: null,
    failureRate: null,
    wait: {},
    service: {},
  }));
  let drawn!: () => void;
  const done = new Promise<void>((resolve) => (drawn = resolve));
  const context: Record<string, unknown> = {
    document: {
      body: { dataset: { historyUrl: '/api/queues/email/history?range=1h', refreshMs: '0' } },
      documentElement: {},
      getElementById: () => null,
      querySelectorAll: () => plots,
    },
    getComputedStyle: () => ({ getPropertyValue: () => '' }),
    fetch: async () => ({ ok: true, json: async () => ({ stepSec: 60, points }) }),
    requestAnimationFrame: () => 0,
    cancelAnimationFrame: () => {},
    setInterval: () => 0,
    uPlot: function (this: unknown, options: { series: Chart['series'] }, data: Chart['data'], el: { dataset: { chart: string } }) {
      charts.push({ key: el.dataset.chart, series: options.series.slice(1), data });
      if (charts.length === plots.length) drawn();
    },
  };
  context.window = Object.assign(context, { addEventListener: () => {} });
  runInNewContext(script, context);
  await done;
  return charts;
}

/** What uPlot would dot for series `index` (1-based, as uPlot counts) of a chart. */
function dotted(chart: Chart, index: number): number[] | 'all' | 'none' {
  const u = { data: chart.data };
  const { points } = chart.series[index - 1]!;
  const show = points.show(u, index);
  if (show) return 'all';
  return points.filter(u, index, show) ?? 'none';
}

describe('the queue page charts', () => {
  it('draw a series with a single value as a dot, not an invisible line', async () => {
    const [rates] = await chartsFor([null, null, null, null, 0.5]);
    expect(rates!.key).toBe('rates');
    expect(dotted(rates!, 1)).toBe('all');
  });

  it('dot only the values no line reaches once a series has many', async () => {
    const [rates] = await chartsFor([1, 2, 3, null, 4, null, 5, 6, null, 7]);
    expect(dotted(rates!, 1)).toEqual([4, 9]);
  });

  it('draw no dots on a continuous line', async () => {
    const [rates] = await chartsFor([1, 2, 3, 4, 5, 6]);
    expect(dotted(rates!, 1)).toBe('none');
  });
});
