/**
 * The alert rules file (DASHBOARD_ALERT_RULES_FILE): JSON, parsed with zod once at start-up.
 * A bad file fails start-up with one problem per mistake, each naming the rule by index (and
 * name) and the field, e.g. `rules[1] ("email backlog").when.backlogAbove: expected number`.
 *
 *   { "webhookUrl"?: "https://…", "cooldownSec"?: 900,
 *     "rules": [{ "name", "queue": "<catalog queue>" | "*", "when": {…one condition…}, "for"?: 0 }] }
 */
import { catalog } from '@conveyor/shared';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MIN_ATTEMPTS_FOR_FAILURE_RATE } from '../queue-health.ts';

/** One condition per rule; the key names it (see `conditionKinds`). */
const whenSchemas = {
  backlogAbove: z.strictObject({ backlogAbove: z.number().int().nonnegative() }),
  oldestWaitingSecAbove: z.strictObject({ oldestWaitingSecAbove: z.number().nonnegative() }),
  failureRatePercentAbove: z.strictObject({
    failureRatePercentAbove: z.number().min(0).max(100),
    /** The queue model window the rate is read over. Default `1m`. */
    window: z.enum(['10s', '1m']).default('1m'),
    /**
     * Attempts the window must hold before its rate can breach: one failure of one attempt is
     * not a 100 % failure rate anyone should be woken for. Default 20, as for the overview's colour.
     */
    minAttempts: z.number().int().min(1).default(MIN_ATTEMPTS_FOR_FAILURE_RATE),
  }),
  noLiveWorkers: z.strictObject({ noLiveWorkers: z.literal(true) }),
  deadLetterGrowthAbove: z.strictObject({
    deadLetterGrowthAbove: z.number().int().nonnegative(),
    /** How far back the growth is measured, in s. Default 300. */
    windowSec: z.number().int().min(1).max(86_400).default(300),
  }),
} as const;

export type ConditionKind = keyof typeof whenSchemas;
export const conditionKinds = Object.keys(whenSchemas) as ConditionKind[];
export type AlertCondition = { [K in ConditionKind]: z.output<(typeof whenSchemas)[K]> }[ConditionKind];

/** Picks the condition by its key, so an error names the field instead of "no union member matched". */
const whenSchema = z.record(z.string(), z.unknown()).transform((value, ctx): AlertCondition => {
  const kinds = conditionKinds.filter((kind) => Object.hasOwn(value, kind));
  if (kinds.length !== 1) {
    ctx.addIssue({ code: 'custom', message: `expected exactly one of ${conditionKinds.join(', ')}` });
    return z.NEVER;
  }
  const result = whenSchemas[kinds[0]!].safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  return z.NEVER;
});

const queueNames = Object.keys(catalog.queues);

const ruleSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  /** A catalog queue, or `*` for every one. */
  queue: z.string().refine((q) => q === '*' || queueNames.includes(q), { message: `expected "*" or one of ${queueNames.join(', ')}` }),
  when: whenSchema,
  /** How long the condition must hold before the alert fires, in s. Default 0. */
  for: z.number().nonnegative().max(86_400).default(0),
});

export const alertRulesSchema = z
  .strictObject({
    /** Where firing and resolved messages are POSTed; none: alerts are only shown. */
    webhookUrl: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).optional(),
    /** Least time between two "firing" messages of one rule on one queue, in s. Default 900. */
    cooldownSec: z.number().int().nonnegative().max(7 * 86_400).default(900),
    rules: z.array(ruleSchema),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.rules.forEach((rule, index) => {
      if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', message: `duplicate rule name ${JSON.stringify(rule.name)}`, path: ['rules', index, 'name'] });
      seen.add(rule.name);
    });
  });

export type AlertRules = z.output<typeof alertRulesSchema>;
export type AlertRule = AlertRules['rules'][number];

/** A rules file that cannot be used; `problems` has one line per mistake. */
export class AlertRulesError extends Error {
  override readonly name = 'AlertRulesError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid alert rules:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

function describePath(path: readonly PropertyKey[], input: unknown): string {
  let text = '';
  path.forEach((key, i) => {
    if (typeof key === 'number') {
      text += `[${key}]`;
      // Name the rule too, when it has a readable name.
      const name = (input as { rules?: { name?: unknown }[] } | undefined)?.rules?.[key]?.name;
      if (i === 1 && path[0] === 'rules' && typeof name === 'string') text += ` (${JSON.stringify(name)})`;
    } else {
      text += `${text ? '.' : ''}${String(key)}`;
    }
  });
  return text || '(file)';
}

/** Validates parsed JSON; throws AlertRulesError naming each rule index and field at fault. */
export function parseAlertRules(input: unknown): AlertRules {
  const result = alertRulesSchema.safeParse(input);
  if (result.success) return result.data;
  throw new AlertRulesError(result.error.issues.map((issue) => `${describePath(issue.path, input)}: ${issue.message}`));
}

/** Reads and validates the rules file at `path`; an empty path means no alerts (null). */
export function loadAlertRulesFile(path: string): AlertRules | null {
  const file = path.trim();
  if (file === '') return null;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AlertRulesError([`cannot read ${file}: ${(error as Error).message}`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AlertRulesError([`${file} is not JSON: ${(error as Error).message}`]);
  }
  return parseAlertRules(json);
}
