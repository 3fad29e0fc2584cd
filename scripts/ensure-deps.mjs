#!/usr/bin/env node
// Runs before `npm start` and `npm test`: installs dependencies with `npm ci` when
// node_modules is missing or does not match package-lock.json, so a fresh clone needs
// only the two README commands. Plain Node, no dependencies: it runs before any exist.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

function stalePackages() {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const stale = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path.startsWith('node_modules/') || entry.link || entry.optional || entry.peer) continue;
    const manifest = join(root, path, 'package.json');
    if (!existsSync(manifest)) {
      stale.push(`${path} (missing)`);
      continue;
    }
    if (entry.version && JSON.parse(readFileSync(manifest, 'utf8')).version !== entry.version) {
      stale.push(`${path} (not ${entry.version})`);
    }
  }
  return stale;
}

const stale = stalePackages();
if (stale.length > 0) {
  const sample = stale.slice(0, 3).join(', ') + (stale.length > 3 ? `, … ${stale.length - 3} more` : '');
  console.error(`conveyor: dependencies missing or stale (${sample}); running npm ci`);
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('conveyor: npm ci failed; see above');
    process.exit(result.status ?? 1);
  }
}
