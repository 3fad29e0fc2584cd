/** The alert rules file: the shipped example parses, and a bad file fails start-up naming the rule and field. */
import { ConfigError } from '@conveyor/shared';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDashboardConfig } from '../config.ts';
import { AlertRulesError, loadAlertRulesFile, parseAlertRules } from './alert-rules.ts';

const example = fileURLToPath(new URL('../../../deploy/alerts/dashboard-alerts.example.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'alert-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function rulesFile(content: unknown): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function configProblems(env: Record<string, string>): string[] {
  try {
    loadDashboardConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map((p) => `${p.variable}: ${p.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('alert rules file', () => {
  it('parses the shipped example, with defaults filled in', () => {
    const rules = loadAlertRulesFile(example);
    expect(rules?.cooldownSec).toBe(900);
    expect(rules?.rules.map((r) => r.name)).toEqual(['backlog', 'stale jobs', 'failing webhooks', 'no workers', 'dead letters piling up']);
    expect(rules?.rules[4]).toMatchObject({ for: 0, when: { deadLetterGrowthAbove: 10, windowSec: 300 } });
  });

  it('means no alerts when the variable is unset', () => {
    expect(loadDashboardConfig({}).DASHBOARD_ALERT_RULES_FILE).toBeNull();
    expect(loadDashboardConfig({ DASHBOARD_ALERT_RULES_FILE: example }).DASHBOARD_ALERT_RULES_FILE?.rules).toHaveLength(5);
  });

  it('defaults the failure-rate window to 1m, its minimum attempts to 20 and the cooldown to 900 s', () => {
    const rules = parseAlertRules({ rules: [{ name: 'f', queue: 'email', when: { failureRatePercentAbove: 5 } }] });
    expect(rules).toMatchObject({ cooldownSec: 900, rules: [{ when: { failureRatePercentAbove: 5, window: '1m', minAttempts: 20 }, for: 0 }] });
    expect(parseAlertRules({ rules: [{ name: 'f', queue: 'email', when: { failureRatePercentAbove: 5, minAttempts: 50 } }] }).rules[0]!.when).toMatchObject({ minAttempts: 50 });
    expect(() => parseAlertRules({ rules: [{ name: 'f', queue: 'email', when: { failureRatePercentAbove: 5, minAttempts: 0 } }] })).toThrow(/rules\[0\] \("f"\)\.when\.minAttempts/);
  });

  it('fails start-up naming the rule index, its name and the field of each mistake', () => {
    const path = rulesFile({
      webhookUrl: 'ftp://nope',
      rules: [
        { name: 'ok', queue: 'email', when: { backlogAbove: 10 } },
        { name: 'email backlog', queue: 'email', when: { backlogAbove: 'many' } },
        { name: 'typo', queue: 'emails', when: { noLiveWorkers: true } },
        { name: 'two', queue: '*', when: { backlogAbove: 1, noLiveWorkers: true } },
        { name: 'ok', queue: '*', when: { deadLetterGrowthAbove: 1, windowSec: 0 }, for: -1 },
      ],
    });
    const problems = configProblems({ DASHBOARD_ALERT_RULES_FILE: path });
    const text = problems.join('\n');
    expect(problems.every((p) => p.startsWith('DASHBOARD_ALERT_RULES_FILE: '))).toBe(true);
    expect(text).toContain('webhookUrl: expected an http:// or https:// URL');
    expect(text).toContain('rules[1] ("email backlog").when.backlogAbove:');
    expect(text).toMatch(/rules\[2\] \("typo"\)\.queue: expected "\*" or one of email, webhook, report/);
    expect(text).toContain('rules[3] ("two").when: expected exactly one of backlogAbove');
    expect(text).toContain('rules[4] ("ok").when.windowSec:');
    expect(text).toContain('rules[4] ("ok").for:');
    expect(text).not.toContain('rules[0]');
  });

  it('refuses two rules with one name', () => {
    const rule = { name: 'backlog', queue: '*', when: { backlogAbove: 1 } };
    expect(() => parseAlertRules({ rules: [rule, rule] })).toThrow('rules[1] ("backlog").name: duplicate rule name "backlog"');
  });

  it('names an unreadable or non-JSON file', () => {
    expect(() => loadAlertRulesFile(join(dir, 'missing.json'))).toThrow(/cannot read .*missing\.json/);
    expect(() => loadAlertRulesFile(rulesFile('{ rules: ['))).toThrow(AlertRulesError);
    expect(configProblems({ DASHBOARD_ALERT_RULES_FILE: rulesFile('nope') })[0]).toMatch(/is not JSON/);
  });
});
