import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from './http-server.ts';
import { rawRequest, requestBytes } from './testing/raw-http.ts';

let server: Server;
let port: number;

beforeAll(async () => {
  server = createHttpServer((_req, res) => {
    res.setHeader('content-type', 'application/json').end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function refusal(bytes: Buffer, halfClose = false) {
  const outcome = await rawRequest({ port, bytes, halfClose });
  if (!outcome.answer) throw new Error(outcome.error);
  const { status, headers, body } = outcome.answer;
  return { status, contentType: headers['content-type'], json: JSON.parse(body.toString('utf8')) };
}

const envelope = (reason: string) => ({ error: { code: 'bad_request', message: expect.any(String), details: { reason } } });

describe('createHttpServer', () => {
  it('hands good requests to the app', async () => {
    const answer = await refusal(requestBytes('GET / HTTP/1.1', [['Host', 'x'], ['Connection', 'close']]));
    expect(answer).toMatchObject({ status: 200, json: { ok: true } });
  });

  it('answers a request Node cannot parse 400 in the error envelope', async () => {
    const answer = await refusal(requestBytes('GET / HTTP/1.1', [['Host', 'x'], ['Bad Header', 'x']]));
    expect(answer).toEqual({ status: 400, contentType: 'application/json; charset=utf-8', json: envelope('malformed') });
  });

  it('answers headers over the size limit 431', async () => {
    const answer = await refusal(requestBytes('GET / HTTP/1.1', [['Host', 'x'], ['X-Big', 'x'.repeat(20_000)]]));
    expect(answer).toMatchObject({ status: 431, json: envelope('header_overflow') });
  });

  it('answers an HTTP/1.1 request without Host 400, and lets HTTP/1.0 through', async () => {
    expect(await refusal(requestBytes('GET / HTTP/1.1', [['Connection', 'close']]))).toMatchObject({ status: 400, json: envelope('missing_host') });
    expect(await refusal(requestBytes('GET / HTTP/1.0', []))).toMatchObject({ status: 200 });
  });

  it('answers an Expect other than 100-continue 417, and CONNECT 400', async () => {
    expect(await refusal(requestBytes('GET / HTTP/1.1', [['Host', 'x'], ['Expect', 'teapot']]))).toMatchObject({ status: 417, json: envelope('expectation') });
    expect(await refusal(requestBytes('CONNECT 127.0.0.1:443 HTTP/1.1', [['Host', '127.0.0.1:443']]))).toMatchObject({ status: 400, json: envelope('connect') });
  });
});
