/**
 * Test helper: checks values against the OpenAPI document's own JSON Schemas with ajv (draft
 * 2020-12, formats on), so that tests can say "this example / this live answer matches the
 * schema the document gives for it". `$ref`s to `#/components/schemas/…` resolve inside the
 * document.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { OpenApiDocument } from '../openapi/openapi-document.ts';

const COMPONENTS_ID = 'urn:conveyor:openapi-components';

/** A value found in the document where an example goes, with the schema it must satisfy. */
export interface DocumentExample {
  /** Where it is, for messages: `POST /v1/jobs/email.send request example`. */
  where: string;
  schema: unknown;
  value: unknown;
}

export interface DocumentSchemas {
  /** ajv's errors for `value` against `schema` (a schema taken from the document); empty when valid. */
  errors(schema: unknown, value: unknown): string[];
  /** The response schema of an operation for a status, e.g. `('post', '/v1/jobs/{name}', 201)`. */
  responseSchema(method: string, path: string, status: number): unknown;
}

function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) =>
      key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')
        ? [key, `${COMPONENTS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`]
        : [key, rewriteRefs(value)],
    ),
  );
}

export function documentSchemas(document: OpenApiDocument): DocumentSchemas {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  // ajv-formats is CommonJS: under Node's ESM interop its plugin is the module's `default`.
  ajvFormats.default(ajv);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: rewriteRefs(document.components.schemas) as Record<string, object> });
  const compiled = new Map<string, ValidateFunction>();

  return {
    errors(schema, value) {
      const key = JSON.stringify(schema);
      let validate = compiled.get(key);
      if (!validate) {
        validate = ajv.compile(rewriteRefs(schema) as object);
        compiled.set(key, validate);
      }
      return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
    },
    responseSchema(method, path, status) {
      const response = (document.paths[path]?.[method]?.responses as Record<string, { content?: Record<string, { schema?: unknown }> }> | undefined)?.[String(status)];
      const schema = response?.content?.['application/json']?.schema;
      if (!schema) throw new Error(`the document has no JSON schema for ${method.toUpperCase()} ${path} → ${status}`);
      return schema;
    },
  };
}

/** Every example in the document (parameters, request bodies, responses) with its schema. */
export function documentExamples(document: OpenApiDocument): DocumentExample[] {
  const found: DocumentExample[] = [];
  const fromMedia = (where: string, media: Record<string, unknown>) => {
    if ('example' in media) found.push({ where, schema: media.schema, value: media.example });
    for (const [name, example] of Object.entries((media.examples ?? {}) as Record<string, { value?: unknown }>)) {
      found.push({ where: `${where} "${name}"`, schema: media.schema, value: example.value });
    }
  };
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const at = `${method.toUpperCase()} ${path}`;
      for (const parameter of (operation.parameters ?? []) as Record<string, unknown>[]) fromMedia(`${at} parameter ${String(parameter.name)}`, parameter);
      const body = (operation.requestBody as { content?: Record<string, Record<string, unknown>> } | undefined)?.content ?? {};
      for (const [type, media] of Object.entries(body)) fromMedia(`${at} request ${type}`, media);
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, { content?: Record<string, Record<string, unknown>> }>)) {
        for (const [type, media] of Object.entries(response.content ?? {})) fromMedia(`${at} → ${status} ${type}`, media);
      }
    }
  }
  return found;
}
