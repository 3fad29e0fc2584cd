/**
 * Test helper: one HTTP exchange over a raw `node:net` socket, for requests fetch refuses to
 * send (bad header syntax, conflicting lengths, lying Content-Length, odd request lines). It
 * writes the bytes as given and reads one answer: headers, then Content-Length bytes, a
 * chunked body, or until the server closes.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: Buffer;
}

export type RawOutcome = { answer: RawAnswer } | { answer: undefined; error: string };

export interface RawRequestOptions {
  port: number;
  /** The whole request, as sent. */
  bytes: Buffer;
  /** Half-close after writing, so a server waiting for more body sees its end. Default false. */
  halfClose?: boolean;
  /** True for HEAD: the answer has no body whatever its Content-Length. Default false. */
  head?: boolean;
  /** Give up after this long, in ms. Default 10,000. */
  timeoutMs?: number;
}

function parseHead(head: string): { status: number; headers: Record<string, string> } | undefined {
  const [statusLine, ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(status), headers };
}

/** The body of a chunked message, or undefined while it is incomplete. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}

/** The answer in `data` once complete (or at the end of the stream when `ended`). */
function completeAnswer(data: Buffer, head: boolean, ended: boolean): RawAnswer | undefined {
  const split = data.indexOf('\r\n\r\n');
  if (split < 0) return undefined;
  const parsed = parseHead(data.subarray(0, split).toString('latin1'));
  if (!parsed) return undefined;
  const rest = data.subarray(split + 4);
  if (head || parsed.status === 204 || parsed.status === 304 || (parsed.status >= 100 && parsed.status < 200)) {
    return { ...parsed, body: Buffer.alloc(0) };
  }
  const length = parsed.headers['content-length'];
  if (length !== undefined) return rest.length >= Number(length) ? { ...parsed, body: rest.subarray(0, Number(length)) } : undefined;
  if (/chunked/i.test(parsed.headers['transfer-encoding'] ?? '')) {
    const body = dechunk(rest);
    return body ? { ...parsed, body } : undefined;
  }
  return ended ? { ...parsed, body: rest } : undefined;
}

/** Sends `bytes`, resolves with the first answer, or with why there was none. */
export function rawRequest(options: RawRequestOptions): Promise<RawOutcome> {
  const { port, bytes, halfClose = false, head = false, timeoutMs = 10_000 } = options;
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (outcome: RawOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const check = (ended: boolean) => {
      const data = Buffer.concat(chunks);
      // A `100 Continue` interim answer comes before the real one.
      const interim = /^HTTP\/1\.1 100 [^\r]*\r\n\r\n/.exec(data.toString('latin1'));
      const answer = completeAnswer(interim ? data.subarray(interim[0].length) : data, head, ended);
      if (answer) settle({ answer });
      else if (ended) settle({ answer: undefined, error: data.length ? `incomplete answer: ${data.toString('latin1').slice(0, 200)}` : 'closed without an answer' });
    };
    const timer = setTimeout(() => settle({ answer: undefined, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('connect', () => {
      socket.write(bytes, () => {
        if (halfClose) socket.end();
      });
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      check(false);
    });
    socket.on('end', () => check(true));
    socket.on('close', () => check(true));
    // A server that answers and closes before reading everything resets the write side: the
    // answer may still be in hand.
    socket.on('error', (error) => {
      const data = Buffer.concat(chunks);
      const answer = completeAnswer(data, head, true);
      settle(answer ? { answer } : { answer: undefined, error: `${(error as NodeJS.ErrnoException).code ?? error.message}` });
    });
  });
}

/** A request's bytes: request line, headers (in order, as given), blank line, body. */
export function requestBytes(requestLine: string, headers: readonly (readonly [string, string])[], body: Buffer = Buffer.alloc(0)): Buffer {
  const head = `${requestLine}\r\n${headers.map(([name, value]) => `${name}: ${value}`).join('\r\n')}${headers.length ? '\r\n' : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
