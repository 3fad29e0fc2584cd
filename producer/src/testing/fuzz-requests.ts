/**
 * Test helper: the fuzz test's request generator. Each case is the raw bytes of one request
 * that the producer must refuse with a 4xx in the error envelope: bad JSON, wrong media types,
 * wrong field types, bodies near and over the size limit, deep nesting, hostile unicode,
 * prototype keys, broken HTTP framing and headers, bad keys and ids, unknown routes, bulk
 * requests over the item limit. Payload mutations are checked against the catalog's schemas,
 * so that "invalid" is known, not hoped; the few cases that may be valid say so.
 */
import { gzipSync } from 'node:zlib';
import { jobNames, topicNames } from '@conveyor/shared';
import { clone, createBodyFuzzer, kindOf, type Json } from './fuzz-bodies.ts';
import type { Random } from './fuzz-random.ts';
import { requestBytes } from './raw-http.ts';

export interface FuzzCase {
  category: string;
  /** What was sent, for failure messages. */
  label: string;
  bytes: Buffer;
  halfClose?: boolean;
  head?: boolean;
  /** The request may be valid after all (2xx allowed, never 5xx). */
  mayBeValid?: boolean;
}

export interface FuzzSetup {
  random: Random;
  /** A key with every scope, sent unless a case is about the key. */
  apiKey: string;
  bodyLimitBytes: number;
  bulkMaxJobs: number;
}

type Header = readonly [string, string];

/** Percent-encodes every byte outside the unreserved set (lone surrogates as U+FFFD, unlike encodeURIComponent, which throws). */
const percentEncode = (text: string) =>
  [...Buffer.from(text, 'utf8')].map((byte) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`)).join('');

export function generateFuzzCases(setup: FuzzSetup, count: number): FuzzCase[] {
  const { random, apiKey, bodyLimitBytes, bulkMaxJobs } = setup;
  const auth: Header = ['Authorization', `Bearer ${apiKey}`];

  /** An ordinary request: Host, Connection: close, the key, JSON content type and length. */
  function request(
    method: string,
    path: string,
    body?: string | Buffer,
    options: { contentType?: string | null; headers?: Header[]; withAuth?: boolean; lengthHeader?: boolean } = {},
  ): Buffer {
    const bytes = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const headers: Header[] = [['Host', '127.0.0.1'], ['Connection', 'close']];
    if (options.withAuth ?? true) headers.push(auth);
    const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
    if (bytes && contentType !== null) headers.push(['Content-Type', contentType]);
    if (bytes && (options.lengthHeader ?? true)) headers.push(['Content-Length', String(bytes.length)]);
    return requestBytes(`${method} ${path} HTTP/1.1`, [...headers, ...(options.headers ?? [])], bytes);
  }

  const { targets, validBody, invalidBody, scheduleId } = createBodyFuzzer(random);
  const anyTarget = () => random.pick(targets);
  const json = (value: Json) => JSON.stringify(value);

  const categories: { name: string; weight: number; make: () => Omit<FuzzCase, 'category'> }[] = [
    {
      name: 'bad-json',
      weight: 10,
      make: () => {
        const target = anyTarget();
        const text = json(validBody(target));
        const broken = random.pick([
          () => text.slice(0, random.int(text.length)),
          () => `${text.slice(0, -1)},}`,
          () => text.replace(/"/g, "'"),
          () => `${text}${random.pick(['}', ']', ',', 'x', '\u0000'])}`,
          () => `\ufeff${text.slice(1)}`,
          () => random.pick(['', ' ', 'NaN', 'undefined', '{a:1}', '[1,,2]', '{"data":}', '{"data": 01}', '"x', 'nul', '1 2', '// c\n{}', '{"a":"\\u12"}', `{"a":"${'\u0001'}"}`]),
          () => random.string(random.between(1, 200), '{}[]":,\\ ntrue0.e-+x'),
        ])();
        let body = broken;
        try {
          JSON.parse(body);
          body = `${body}{`;
        } catch {
          // Broken, as wanted.
        }
        return { label: `${target.method} ${target.path()} body ${JSON.stringify(body.slice(0, 80))}`, bytes: request(target.method, target.path(), body) };
      },
    },
    {
      name: 'content-type',
      weight: 6,
      make: () => {
        const target = anyTarget();
        // The body is valid: only the media type can be what refuses it. The last few are
        // malformed parameters that a lenient parser may read as plain application/json.
        const refused = [null, '', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonx', 'application/vnd.api+json', 'text/json', '*/*', 'application/json; charset=latin1', 'application/json; charset=utf-16', `application/json; ${'p=1;'.repeat(500)} charset=koi8-r`];
        const lenient = ['application/json;;;', 'application/json; charset="', 'application/json; =x'];
        const type = random.pick([...refused, ...lenient]);
        return {
          label: `${target.method} ${target.path()} Content-Type ${JSON.stringify(type)}`,
          bytes: request(target.method, target.path(), json(validBody(target)), { contentType: type }),
          ...(type !== null && lenient.includes(type) ? { mayBeValid: true } : {}),
        };
      },
    },
    {
      name: 'wrong-types',
      weight: 20,
      make: () => {
        const target = anyTarget();
        const body = invalidBody(target);
        return { label: `${target.method} ${target.path()} ${json(body).slice(0, 160)}`, bytes: request(target.method, target.path(), json(body)) };
      },
    },
    {
      name: 'huge',
      weight: 6,
      make: () => {
        const target = random.pick(targets.filter((t) => t.shape === 'one'));
        const kind = target.kind!;
        const stringKey = Object.keys(kind.example as object).find((key) => typeof (kind.example as Record<string, Json>)[key] === 'string')!;
        const empty = json({ data: { ...(kind.example as object), [stringKey]: '' } });
        const size = bodyLimitBytes + random.pick([-300, -2, -1, 0, 1, 2, 300, bodyLimitBytes]);
        const body = json({ data: { ...(kind.example as object), [stringKey]: 'x'.repeat(Math.max(0, size - empty.length)) } });
        return { label: `${target.path()} with a ${body.length}-byte body (limit ${bodyLimitBytes})`, bytes: request('POST', target.path(), body) };
      },
    },
    {
      name: 'deep',
      weight: 5,
      make: () => {
        const depth = random.pick([1_000, 10_000, 10_000, 50_000]);
        const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const email = kindOf('email.send').example as object;
        const variants: [string, string, string, boolean?][] = [
          ['POST', '/v1/jobs/email.send', `{"data":${objects}}`],
          ['POST', '/v1/jobs/email.send', arrays],
          ['POST', '/v1/jobs/email.send', `{"data":${json(email).slice(0, -1)},"to":${objects}}}`],
          ['POST', '/v1/jobs:bulk', `{"jobs":${arrays}}`],
          ['POST', `/v1/events/${topicNames[0]}`, `{"data":${objects}}`],
          ['PUT', `/v1/schedules/${scheduleId()}`, `{"name":"email.send","everyMs":60000,"data":${objects}}`],
          ['POST', '/v1/jobs/email.send', `{"data":${objects.slice(0, -1)}`],
          // A schema-valid payload nesting deep where the schema allows anything: may be enqueued.
          ['POST', '/v1/jobs/webhook.deliver', `{"data":{"url":"https://example.com/h","event":"deep","payload":{"a":${objects}}}}`, true],
        ];
        const [method, path, body, mayBeValid] = random.pick(variants);
        return { label: `${method} ${path} nesting ${depth} deep`, bytes: request(method, path, body), ...(mayBeValid ? { mayBeValid } : {}) };
      },
    },
    {
      name: 'unicode',
      weight: 8,
      make: () => {
        const target = random.pick(targets.filter((t) => t.shape === 'one'));
        const data = clone(target.kind!.example) as Record<string, Json>;
        const roll = random.int(4);
        if (roll === 0) data[`k${random.weird()}`] = random.weird();
        else if (roll === 1) data[random.pick(Object.keys(data))] = random.weird();
        // A free-text field may take any string: then an unknown field makes sure it is refused.
        if (target.kind!.schema.safeParse(data).success) data[`unknown${random.weird()}`] = 1;
        let body = Buffer.from(json({ data }), 'utf8');
        if (roll === 2) body = Buffer.concat([Buffer.from('{"data":{"'), Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]), Buffer.from('":1}}')]);
        if (roll === 3) body = Buffer.from(`{"data":{"to":"a\u0000b@example.com","subject":"${'\u0000'}","body":""}}`, 'utf8');
        const path = random.chance(0.3) ? `/v1/jobs/${percentEncode(`${target.kind!.name}${random.weird()}`)}` : target.path();
        return { label: `POST ${path} with hostile unicode (${roll})`, bytes: request('POST', path, body) };
      },
    },
    {
      name: 'proto-keys',
      weight: 5,
      make: () => {
        const target = anyTarget();
        const key = random.pick(['__proto__', 'constructor', 'prototype']);
        const marker = '__fuzz_marker__';
        const body = validBody(target);
        const holder = target.shape === 'bulk' || target.shape === 'mixed' ? ((body.jobs as Record<string, Json>[])[0]!.data as Record<string, Json>) : (body.data as Record<string, Json>);
        const where = random.int(3);
        if (where === 0) body[marker] = { polluted: true };
        else if (where === 1) holder[marker] = { polluted: true };
        else holder[marker] = { deeper: { [marker]: { isAdmin: true } } };
        const text = json(body).replaceAll(`"${marker}"`, `"${key}"`);
        return { label: `${target.method} ${target.path()} with "${key}" keys`, bytes: request(target.method, target.path(), text) };
      },
    },
    {
      name: 'framing',
      weight: 8,
      make: () => {
        const body = Buffer.from(json({ data: { to: 'nope' } }));
        const line = 'POST /v1/jobs/email.send HTTP/1.1';
        const base: Header[] = [['Host', '127.0.0.1'], ['Connection', 'close'], auth, ['Content-Type', 'application/json']];
        const chunked = (payload: Buffer) => Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
        const variants: (() => Omit<FuzzCase, 'category'>)[] = [
          () => ({ label: 'two different Content-Lengths', bytes: requestBytes(line, [...base, ['Content-Length', String(body.length)], ['Content-Length', String(body.length + 1)]], body) }),
          () => ({ label: 'Content-Length and Transfer-Encoding', bytes: requestBytes(line, [...base, ['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked']], chunked(body)) }),
          () => ({ label: 'a bad Content-Length', bytes: requestBytes(line, [...base, ['Content-Length', random.pick(['-1', 'abc', '1e3', '0x10', '99999999999999999999', ' '])]], body), halfClose: true }),
          () => ({ label: 'a bad chunk size', bytes: requestBytes(line, [...base, ['Transfer-Encoding', 'chunked']], Buffer.from('zz\r\nabc\r\n0\r\n\r\n')) }),
          () => ({ label: 'a chunked body cut short', bytes: requestBytes(line, [...base, ['Transfer-Encoding', 'chunked']], Buffer.from('ff\r\n{"data"')), halfClose: true }),
          () => ({ label: 'Transfer-Encoding gzip alone', bytes: requestBytes(line, [...base, ['Transfer-Encoding', 'gzip']], body), halfClose: true }),
          () => ({ label: 'a chunked body of bad JSON', bytes: requestBytes(line, [...base, ['Transfer-Encoding', 'chunked']], chunked(Buffer.from('{"data":'))) }),
          () => ({ label: 'a body shorter than its Content-Length', bytes: requestBytes(line, [...base, ['Content-Length', String(random.pick([body.length + 10, bodyLimitBytes * 10]))]], body), halfClose: true }),
          () => ({ label: 'Content-Encoding of garbage', bytes: requestBytes(line, [...base, ['Content-Encoding', random.pick(['gzip', 'deflate', 'br'])], ['Content-Length', '16']], Buffer.from(random.string(16))) }),
          () => ({ label: 'an unsupported Content-Encoding', bytes: requestBytes(line, [...base, ['Content-Encoding', random.pick(['zstd', 'compress', 'x-fuzz'])], ['Content-Length', String(body.length)]], body) }),
          () => {
            // Inflates past the body limit: refused after BODY_LIMIT_BYTES, not after all of it.
            const bomb = gzipSync(Buffer.from(`{"data":{"subject":"${'a'.repeat(bodyLimitBytes * 8)}"}}`));
            return { label: `a gzip bomb (${bomb.length} bytes → ${bodyLimitBytes * 8})`, bytes: requestBytes(line, [...base, ['Content-Encoding', 'gzip'], ['Content-Length', String(bomb.length)]], bomb) };
          },
        ];
        return random.pick(variants)();
      },
    },
    {
      name: 'headers',
      weight: 10,
      make: () => {
        const body = Buffer.from(json({ data: { to: 'nope' } }));
        const base: Header[] = [['Host', '127.0.0.1'], ['Connection', 'close'], auth, ['Content-Type', 'application/json'], ['Content-Length', String(body.length)]];
        const post = (headers: Header[], line = 'POST /v1/jobs/email.send HTTP/1.1') => requestBytes(line, headers, body);
        const variants: (() => Omit<FuzzCase, 'category'>)[] = [
          () => ({ label: 'a header name with a space', bytes: post([...base, ['Bad Header', 'x']]) }),
          () => ({ label: 'a header value with NUL', bytes: post([...base, ['X-Test', 'a\u0000b']]) }),
          () => ({ label: 'a header value with a bare CR', bytes: post([...base, ['X-Test', 'a\rb']]) }),
          () => ({ label: 'a header line without a colon', bytes: Buffer.concat([Buffer.from('POST /v1/jobs/email.send HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n')]) }),
          () => ({ label: 'an obs-fold continuation line', bytes: post([...base, ['X-Fold', 'a\r\n folded']]) }),
          () => ({ label: 'a 20 KB header', bytes: post([...base, ['X-Big', 'x'.repeat(20_000)]]) }),
          () => ({ label: '3,000 headers', bytes: post([...base, ...Array.from({ length: 3_000 }, (_, i) => [`X-H${i}`, 'v'] as const)]) }),
          () => ({ label: 'no Host header', bytes: post(base.filter(([name]) => name !== 'Host')) }),
          () => ({ label: 'an empty Host header', bytes: post([['Host', ''], ...base.slice(1)]) }),
          () => ({ label: 'a strange Expect', bytes: post([...base, ['Expect', random.pick(['weird', '200-ok', '100-continue, x'])]]) }),
          () => ({ label: 'Expect: 100-continue', bytes: post([...base, ['Expect', '100-continue']]) }),
          () => ({ label: 'an Upgrade request', bytes: post([...base.filter(([name]) => name !== 'Connection'), ['Connection', 'Upgrade'], ['Upgrade', 'websocket']]) }),
          () => ({ label: 'a lower-case method', bytes: post(base, 'post /v1/jobs/email.send HTTP/1.1') }),
          () => ({ label: 'an unknown method', bytes: post(base, `${random.pick(['FOO', 'BREW', 'GETT', 'P0ST'])} /v1/jobs/email.send HTTP/1.1`) }),
          () => ({ label: 'a space in the path', bytes: post(base, 'POST /v1/jobs/email send HTTP/1.1') }),
          () => ({ label: 'a bad HTTP version', bytes: post(base, `POST /v1/jobs/email.send ${random.pick(['HTTP/2.0', 'HTTP/9.9', 'HTTP/1.x', 'HTTPS/1.1'])}`) }),
          () => ({ label: 'an HTTP/0.9 request line', bytes: Buffer.from('GET /nope-http-0.9\r\n\r\n'), halfClose: true }),
          () => ({ label: 'the HTTP/2 preface', bytes: Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), halfClose: true }),
          () => ({ label: 'CONNECT', bytes: requestBytes('CONNECT 127.0.0.1:443 HTTP/1.1', [['Host', '127.0.0.1:443']]) }),
          () => ({ label: 'an absolute-form target', bytes: post(base, 'POST http://evil.example/v1/jobs/email.send HTTP/1.1') }),
          () => ({ label: 'HTTP/1.0 without Host', bytes: post(base.filter(([name]) => name !== 'Host'), 'POST /v1/jobs/email.send HTTP/1.0') }),
          () => ({ label: 'a 20 KB path', bytes: post(base, `POST /v1/jobs/${'x'.repeat(20_000)} HTTP/1.1`) }),
          () => ({ label: 'OPTIONS *', bytes: requestBytes('OPTIONS * HTTP/1.1', base.slice(0, 3)), mayBeValid: true }),
        ];
        return random.pick(variants)();
      },
    },
    {
      name: 'auth',
      weight: 5,
      make: () => {
        // A valid request but for its key: only the key can be what refuses it.
        const target = random.pick(targets.filter((t) => t.shape === 'one'));
        const value = random.pick(['', 'Bearer', 'Bearer ', `Bearer ${apiKey}x`, `Bearer ${apiKey} extra`, `Basic ${Buffer.from(`u:${apiKey}`).toString('base64')}`, `Token ${apiKey}`, `Bearer ${'k'.repeat(8_000)}`, `Bearer ${Buffer.from('ключ', 'utf8').toString('latin1')}`, apiKey]);
        const headers: Header[] = value === '' && random.chance(0.5) ? [] : [['Authorization', value]];
        return { label: `${target.path()} with Authorization ${JSON.stringify(value.slice(0, 40))}`, bytes: request('POST', target.path(), json(validBody(target)), { withAuth: false, headers }) };
      },
    },
    {
      name: 'idempotency-key',
      weight: 4,
      make: () => {
        // A valid request but for its key header.
        const target = random.pick(targets.filter((t) => t.shape === 'one'));
        const key = random.pick(['', ' ', 'k'.repeat(256), 'k'.repeat(random.between(257, 10_000))]);
        return { label: `${target.path()} with Idempotency-Key of ${key.length} characters`, bytes: request('POST', target.path(), json(validBody(target)), { headers: [['Idempotency-Key', key]] }) };
      },
    },
    {
      name: 'routes',
      weight: 8,
      make: () => {
        const method = random.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'TRACE']);
        const path = random.pick([
          () => `/${random.string(random.between(1, 30))}`,
          () => `/v1/${random.string(random.between(1, 12))}`,
          () => `/v2/jobs/${random.pick(jobNames)}`,
          () => `/v1/jobs/${random.pick(jobNames)}/1/2/3`,
          () => `/v1//jobs/${random.pick(jobNames)}/x/y/z`,
          () => random.pick(['/.env', '/admin', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/v1/jobs/..%2F..%2Fetc', '/wp-login.php', '/docs/assets/../../package.json', '/docs/assets/%2e%2e%2fpackage.json', '/docs/assets/nope.js']),
          () => `/nope-${random.string(6)}?${random.pick(['a=1', '__proto__[x]=1', 'constructor[prototype][x]=1', `q=${'x'.repeat(4_000)}`, '%ff=%fe'])}`,
        ])();
        return { label: `${method} ${path.slice(0, 100)}`, bytes: request(method, path, method === 'GET' || method === 'HEAD' ? undefined : '{}'), head: method === 'HEAD' };
      },
    },
    {
      name: 'wrong-method',
      weight: 3,
      make: () => {
        const [method, path] = random.pick<[string, string]>([
          ['POST', '/healthz'], ['DELETE', '/readyz'], ['PUT', '/metrics'], ['POST', '/openapi.json'], ['DELETE', '/docs'], ['PATCH', '/v1/jobs/email.send/abc'],
          ['PUT', '/v1/jobs/email.send'], ['GET', '/v1/jobs/email.send'], ['DELETE', '/v1/topics'], ['POST', '/v1/schedules'], ['PATCH', '/v1/schedules/x'],
          ['GET', '/v1/events/user.signed_up'], ['GET', '/v1/jobs:bulk'], ['PUT', '/v1/jobs/email.send/bulk'],
        ]);
        return { label: `${method} ${path}`, bytes: request(method, path, method === 'GET' ? undefined : '{}') };
      },
    },
    {
      name: 'ids',
      weight: 8,
      make: () => {
        const trick = random.pick(['..', '%2e%2e', '%00', '%ff', 'a%2Fb', '%2F', 'x'.repeat(random.pick([129, 5_000])), percentEncode(random.weird()), 'a:b', '~x', '%', '%%', '.', 'wait', '-1']);
        const [method, path, body] = random.pick<[string, string, string?]>([
          ['GET', `/v1/jobs/${random.pick(jobNames)}/${trick}`],
          ['DELETE', `/v1/jobs/${random.pick(jobNames)}/${trick}`],
          ['GET', `/v1/jobs/${trick}/1`],
          ['POST', `/v1/jobs/${trick}`, json({ data: {} })],
          ['POST', `/v1/jobs/${trick}/bulk`, json({ jobs: [{ data: {} }] })],
          ['POST', `/v1/events/${trick}`, json({ data: {} })],
          ['GET', `/v1/schedules/${trick}`],
          ['DELETE', `/v1/schedules/${trick}`],
          // A valid schedule body under an id the schedule ids refuse.
          ['PUT', `/v1/schedules/${random.pick(['..', '.x', '%00', 'a%2Fb', 'x'.repeat(129), percentEncode('ключ'), '-x', '%ff', '_x'])}`, json({ name: 'email.send', data: kindOf('email.send').example, everyMs: 60_000 })],
        ]);
        return { label: `${method} ${path.slice(0, 120)}`, bytes: request(method, path, body) };
      },
    },
    {
      name: 'bulk-limit',
      weight: 3,
      make: () => {
        const over = bulkMaxJobs + random.pick([1, 2, 50, bulkMaxJobs]);
        const name = random.pick(jobNames);
        const item = { data: kindOf(name).example };
        const [path, items] = random.chance(0.5)
          ? [`/v1/jobs/${name}/bulk`, Array.from({ length: over }, () => item)]
          : ['/v1/jobs:bulk', Array.from({ length: over }, () => ({ name, ...item }))];
        return { label: `POST ${path} with ${over} items (limit ${bulkMaxJobs})`, bytes: request('POST', path, json({ jobs: items })) };
      },
    },
  ];

  const total = categories.reduce((sum, category) => sum + category.weight, 0);
  const cases: FuzzCase[] = [];
  // Every category at least once, then by weight.
  for (const category of categories) cases.push({ category: category.name, ...category.make() });
  while (cases.length < count) {
    let roll = random.next() * total;
    const category = categories.find((candidate) => (roll -= candidate.weight) < 0) ?? categories[0]!;
    cases.push({ category: category.name, ...category.make() });
  }
  return cases;
}
