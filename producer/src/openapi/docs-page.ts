/**
 * `GET /docs`: the OpenAPI document as one server-rendered HTML page. No script, no external
 * asset (one stylesheet from `/docs/assets/`), so it works offline and under helmet's CSP.
 */
import { isRecord, type JsonSchema } from './json-schema.ts';
import type { OpenApiDocument } from './openapi-document.ts';

/** Where the page's stylesheet is served. */
export const DOCS_ASSETS_PATH = '/docs/assets';

const METHODS = ['get', 'post', 'put', 'delete'] as const;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** One line of text with its `code` spans. */
function inlineMarkdown(line: string): string {
  return escapeHtml(line).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** The little Markdown the descriptions use: paragraphs, `- ` lists, `code`. */
function markdown(text: string | undefined): string {
  if (!text) return '';
  const inline = inlineMarkdown;
  return text
    .split(/\n{2,}/)
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((line) => line.startsWith('- '))) return `<ul>${lines.map((line) => `<li>${inline(line.slice(2))}</li>`).join('')}</ul>`;
      return `<p>${lines.map(inline).join(' ')}</p>`;
    })
    .join('');
}

const anchor = (prefix: string, name: string) => `${prefix}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

function refName(schema: JsonSchema): string | undefined {
  return typeof schema.$ref === 'string' ? schema.$ref.replace('#/components/schemas/', '') : undefined;
}

/** One line for a schema: `string (email)`, `array of EmailSendData`, `"email.send"`. */
function typeLabel(schema: unknown): string {
  if (!isRecord(schema)) return 'any';
  const name = refName(schema);
  if (name) return `<a href="#${anchor('schema', name)}">${escapeHtml(name)}</a>`;
  if ('const' in schema) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map((value) => `<code>${escapeHtml(JSON.stringify(value))}</code>`).join(' ')}`;
  const union = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(union) && !schema.type) return union.map(typeLabel).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : typeof schema.type === 'string' ? schema.type : 'any';
  if (type === 'array') return `array of ${typeLabel(schema.items)}`;
  return `${escapeHtml(type)}${typeof schema.format === 'string' ? ` (${escapeHtml(schema.format)})` : ''}`;
}

function constraints(schema: JsonSchema): string {
  const parts: string[] = [];
  const say = (key: string, label: string) => {
    if (schema[key] !== undefined) parts.push(`${label} ${escapeHtml(String(schema[key]))}`);
  };
  say('minLength', 'min length');
  say('maxLength', 'max length');
  say('minimum', '≥');
  say('maximum', '≤');
  say('minItems', 'min items');
  say('maxItems', 'max items');
  if (typeof schema.pattern === 'string' && schema.pattern.length <= 60) parts.push(`pattern <code>${escapeHtml(schema.pattern)}</code>`);
  if (schema.default !== undefined) parts.push(`default <code>${escapeHtml(JSON.stringify(schema.default))}</code>`);
  return parts.join(', ');
}

/** A schema as a field table (objects), alternatives (unions) or one line. */
function schemaBlock(schema: unknown, depth = 0): string {
  if (!isRecord(schema) || depth > 4) return `<p class="type">${typeLabel(schema)}</p>`;
  const description = depth > 0 ? '' : markdown(typeof schema.description === 'string' ? schema.description : undefined);
  const alternatives = (schema.oneOf ?? schema.anyOf) as unknown[] | undefined;
  if (isRecord(schema.properties)) {
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    const rows = Object.entries(schema.properties).map(([field, property]) => {
      const prop = isRecord(property) ? property : {};
      const items = isRecord(prop.items) && (isRecord(prop.items.properties) || prop.items.oneOf) ? schemaBlock(prop.items, depth + 1) : '';
      const nested = isRecord(prop.properties) ? schemaBlock(prop, depth + 1) : items;
      return `<tr><td><code>${escapeHtml(field)}</code>${required.has(field) ? ' <span class="required">required</span>' : ''}</td><td>${typeLabel(prop)}</td><td>${constraints(prop)}</td><td>${markdown(typeof prop.description === 'string' ? prop.description : undefined)}${nested}</td></tr>`;
    });
    const closed = schema.additionalProperties === false ? '<p class="note">No other fields allowed.</p>' : '';
    const oneOf = Array.isArray(schema.oneOf) ? `<p class="note">Exactly one of: ${schema.oneOf.map((alt) => (isRecord(alt) && Array.isArray(alt.required) ? alt.required.map((field) => `<code>${escapeHtml(String(field))}</code>`).join(' + ') : typeLabel(alt))).join(', ')}.</p>` : '';
    return `${description}<table class="fields"><thead><tr><th>field</th><th>type</th><th>constraints</th><th>about</th></tr></thead><tbody>${rows.join('')}</tbody></table>${closed}${oneOf}`;
  }
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    return `${description}<p>One of:</p><ol class="alternatives">${alternatives.map((alt) => `<li>${schemaBlock(alt, depth + 1)}</li>`).join('')}</ol>`;
  }
  return `${description}<p class="type">${typeLabel(schema)}${constraints(schema) ? ` — ${constraints(schema)}` : ''}</p>`;
}

function examplesBlock(media: JsonSchema): string {
  const examples = isRecord(media.examples) ? Object.entries(media.examples) : media.example !== undefined ? [['example', { value: media.example }] as const] : [];
  return examples
    .map(([name, example]) => {
      const { summary, value } = isRecord(example) ? example : { summary: undefined, value: undefined };
      const title = `${escapeHtml(name)}${typeof summary === 'string' ? ` — ${inlineMarkdown(summary)}` : ''}`;
      return `<details><summary>Example: ${title}</summary><pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre></details>`;
    })
    .join('');
}

function mediaBlocks(content: unknown): string {
  if (!isRecord(content)) return '';
  return Object.entries(content)
    .map(([type, media]) => (isRecord(media) ? `<p class="media">${escapeHtml(type)}: ${typeLabel(media.schema)}</p>${examplesBlock(media)}` : ''))
    .join('');
}

function operationBlock(method: string, path: string, operation: Record<string, unknown>, schemas: Record<string, JsonSchema>): string {
  const id = anchor('op', String(operation.operationId));
  const scope = typeof operation['x-required-scope'] === 'string' ? `<span class="scope">scope: ${escapeHtml(operation['x-required-scope'])}</span>` : '<span class="scope public">no API key</span>';
  const parameters = Array.isArray(operation.parameters) ? operation.parameters.filter(isRecord) : [];
  const parameterTable = parameters.length
    ? `<h4>Parameters</h4><table class="fields"><thead><tr><th>name</th><th>in</th><th>type</th><th>about</th></tr></thead><tbody>${parameters
        .map((p) => `<tr><td><code>${escapeHtml(String(p.name))}</code>${p.required ? ' <span class="required">required</span>' : ''}</td><td>${escapeHtml(String(p.in))}</td><td>${typeLabel(p.schema)}</td><td>${markdown(String(p.description ?? ''))}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const body = isRecord(operation.requestBody) && isRecord(operation.requestBody.content) ? operation.requestBody.content : undefined;
  const bodyMedia = body && isRecord(body['application/json']) ? body['application/json'] : undefined;
  const bodyBlock = bodyMedia ? `<h4>Request body (application/json)</h4>${schemaBlock(resolveForDisplay(bodyMedia.schema, schemas))}${examplesBlock(bodyMedia)}` : '';
  const responses = isRecord(operation.responses) ? Object.entries(operation.responses) : [];
  const responseRows = responses
    .map(([status, response]) => {
      const r = isRecord(response) ? response : {};
      return `<li><span class="status s${escapeHtml(status[0] ?? '')}">${escapeHtml(status)}</span> ${markdown(String(r.description ?? ''))}${mediaBlocks(r.content)}</li>`;
    })
    .join('');
  return `<section class="operation" id="${id}"><h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3><p class="summary">${markdown(String(operation.summary ?? ''))}</p>${scope}${markdown(String(operation.description ?? ''))}${parameterTable}${bodyBlock}<h4>Responses</h4><ul class="responses">${responseRows}</ul></section>`;
}

/** A request body's `$ref` shown as the referenced schema itself. */
function resolveForDisplay(schema: unknown, schemas: Record<string, JsonSchema>): unknown {
  const name = isRecord(schema) ? refName(schema) : undefined;
  return (name && schemas[name]) || schema;
}

/** The whole page. Pure: the same document gives the same HTML. */
export function renderDocsPage(document: OpenApiDocument): string {
  const operations: { tag: string; html: string; nav: string }[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const tag = Array.isArray(operation.tags) ? String(operation.tags[0]) : 'other';
      const nav = `<li><a href="#${anchor('op', String(operation.operationId))}"><span class="method ${method}">${method.toUpperCase()}</span> ${escapeHtml(path)}</a></li>`;
      operations.push({ tag, html: operationBlock(method, path, operation, document.components.schemas), nav });
    }
  }
  const tags = (document.tags as { name: string; description?: string }[] | undefined) ?? [];
  const sections = tags
    .map(({ name, description }) => {
      const mine = operations.filter((op) => op.tag === name);
      return mine.length ? `<section class="tag" id="${anchor('tag', name)}"><h2>${escapeHtml(name)}</h2>${markdown(description)}${mine.map((op) => op.html).join('')}</section>` : '';
    })
    .join('');
  const nav = tags
    .map(({ name }) => `<li><a href="#${anchor('tag', name)}">${escapeHtml(name)}</a><ul>${operations.filter((op) => op.tag === name).map((op) => op.nav).join('')}</ul></li>`)
    .join('');
  const schemas = Object.entries(document.components.schemas)
    .map(([name, schema]) => `<section class="schema" id="${anchor('schema', name)}"><h3>${escapeHtml(name)}</h3>${schemaBlock(schema)}</section>`)
    .join('');
  const { title, version, description } = document.info;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} ${escapeHtml(version)}</title>
<link rel="stylesheet" href="${DOCS_ASSETS_PATH}/docs.css">
</head>
<body>
<nav class="toc"><p><strong>${escapeHtml(title)}</strong></p><ul>${nav}<li><a href="#schemas">schemas</a></li></ul></nav>
<main>
<header><h1>${escapeHtml(title)} <span class="version">${escapeHtml(version)}</span></h1>${markdown(description)}<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)}).</p></header>
${sections}
<section id="schemas"><h2>schemas</h2>${schemas}</section>
</main>
</body>
</html>
`;
}
