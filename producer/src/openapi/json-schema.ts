/**
 * zod → JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) for the OpenAPI document.
 *
 * Request bodies are described as a caller writes them (`io: 'input'`: defaults optional,
 * transforms before they run). What JSON cannot say is softened, never fatal: a `Date` is the
 * ISO-8601 string JSON carries it as, anything else unrepresentable accepts any value, and
 * refinements (`.refine`) are left to the server, which still checks them.
 */
import { z } from 'zod';

/** A JSON Schema object, as it appears inside the OpenAPI document. */
export type JsonSchema = Record<string, unknown>;

/** Where a schema's own definitions (`$defs`) go: components named `<owner>.<def>`. */
export interface HoistedDefinitions {
  [componentName: string]: JsonSchema;
}

/**
 * The JSON Schema of `schema`, without `$schema`. Internal `$defs` (recursive or shared parts)
 * are moved into `hoisted` as `<owner>.<name>` and their `$ref`s point at the components.
 */
export function jsonSchemaOf(schema: z.ZodType, owner: string, hoisted: HoistedDefinitions): JsonSchema {
  const converted = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: ({ zodSchema }) =>
      zodSchema._zod.def.type === 'date' ? { type: 'string', format: 'date-time' } : 'any',
  }) as JsonSchema;
  const { $schema: _dialect, $defs, ...rest } = collapseDateUnions(converted) as JsonSchema;
  if (!isRecord($defs)) return rest;
  const renamed = (name: string) => `${owner}.${name}`;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!isRecord(node)) return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) =>
        key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')
          ? [key, `#/components/schemas/${renamed(value.slice('#/$defs/'.length))}`]
          : [key, rewrite(value)],
      ),
    );
  };
  for (const [name, definition] of Object.entries($defs)) hoisted[renamed(name)] = rewrite(definition) as JsonSchema;
  return rewrite(rest) as JsonSchema;
}

const DATE_STRING = JSON.stringify({ type: 'string', format: 'date-time' });

/**
 * `z.union([z.iso.datetime(), z.date()])` becomes "an ISO string, or (the Date) any date-time
 * string": over JSON both are strings, so keep the stricter alternative alone.
 */
function collapseDateUnions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(collapseDateUnions);
  if (!isRecord(node)) return node;
  const out = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, collapseDateUnions(value)]));
  if (!Array.isArray(out.anyOf)) return out;
  const stricter = (member: unknown) => isRecord(member) && member.format === 'date-time' && JSON.stringify(member) !== DATE_STRING;
  if (!out.anyOf.some(stricter)) return out;
  const members = out.anyOf.filter((member) => JSON.stringify(member) !== DATE_STRING);
  if (members.length !== 1) return { ...out, anyOf: members };
  const { anyOf: _union, ...siblings } = out;
  return { ...(members[0] as JsonSchema), ...siblings };
}

/** `schema` without the named properties (e.g. a field sent as a header over HTTP). */
export function withoutProperties(schema: JsonSchema, names: readonly string[]): JsonSchema {
  const properties = isRecord(schema.properties) ? { ...schema.properties } : undefined;
  if (!properties) return schema;
  for (const name of names) delete properties[name];
  const required = Array.isArray(schema.required) ? schema.required.filter((name) => !names.includes(name)) : undefined;
  return { ...schema, properties, ...(required ? { required } : {}) };
}

/** A `$ref` to a component schema. */
export function ref(componentName: string): JsonSchema {
  return { $ref: `#/components/schemas/${componentName}` };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
