/**
 * `npm run chaos`: runs the chaos cases at full size and prints their figures as a markdown
 * table (the README's reliability section is a copy of one run). Exit code 1 when any case
 * found a problem.
 *
 *   npm run chaos                     every case, full size (about 5 minutes)
 *   npm run chaos -- --quick          the sizes the default test run uses
 *   npm run chaos -- --cases 1,3      only these cases
 *   npm run chaos -- --jobs 20000     jobs in case 1 (default 5,000)
 *   npm run chaos -- --topology cluster   the cases that apply on a Redis Cluster (or `sentinel`;
 *                                     default `standalone`); the others print why they are skipped
 */
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { chaosCases, formatTable, runCase, type CaseResult } from './cases.ts';
import { chaosTopologies, type ChaosTopology } from './redis-deployment.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    cases: { type: 'string' },
    jobs: { type: 'string' },
    topology: { type: 'string', default: 'standalone' },
  },
});

const selected = values.cases ? new Set(values.cases.split(',').map((c) => Number(c.trim()))) : undefined;
const jobs = values.jobs ? Number(values.jobs) : undefined;
if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) {
  console.error(`--jobs must be a positive integer, got "${values.jobs}"`);
  process.exit(2);
}
const topology = values.topology as ChaosTopology;
if (!chaosTopologies.includes(topology)) {
  console.error(`--topology must be one of ${chaosTopologies.join(', ')}, got "${values.topology}"`);
  process.exit(2);
}
const cases = chaosCases.filter((c) => !selected || selected.has(c.id));
if (cases.length === 0) {
  console.error(`no such case; cases are ${chaosCases.map((c) => c.id).join(', ')}`);
  process.exit(2);
}

const redisVersion = (() => {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? '?';
  } catch {
    return '?';
  }
})();

const started = Date.now();
const results: CaseResult[] = [];
for (const chaosCase of cases) {
  const result = await runCase(chaosCase, {
    quick: values.quick,
    topology,
    ...(jobs !== undefined ? { jobs } : {}),
    log: (line) => console.error(line),
  });
  if (!result.skipped) console.error(`  → ${result.problems.length === 0 ? 'pass' : `FAIL: ${result.problems.join('; ')}`} (${Math.round(result.durationMs / 1_000)} s)`);
  results.push(result);
}

const failed = results.filter((r) => r.problems.length > 0);
const skipped = results.filter((r) => r.skipped).length;
const flags = [
  values.quick ? '--quick' : '',
  values.cases ? `--cases ${values.cases}` : '',
  jobs !== undefined ? `--jobs ${jobs}` : '',
  topology === 'standalone' ? '' : `--topology ${topology}`,
]
  .filter(Boolean)
  .join(' ');
console.log(
  `\nChaos run ${new Date().toISOString().slice(0, 10)}: \`npm run chaos${flags ? ` -- ${flags}` : ''}\`, ` +
    `${cpus().length} cores, Node ${process.version}, Redis ${redisVersion}, ${Math.round((Date.now() - started) / 1_000)} s\n`,
);
console.log(formatTable(results));
const ran = results.length - skipped;
console.log(`\n${ran - failed.length} of ${ran} cases passed${skipped > 0 ? `; ${skipped} skipped on ${topology} (reasons in the table)` : ''}.`);
process.exitCode = failed.length > 0 ? 1 : 0;
