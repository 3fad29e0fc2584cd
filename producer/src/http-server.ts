/**
 * The producer's HTTP server: Node's, with the answers Node would give by itself put in the
 * API's error envelope too. Node answers some requests before express sees them — a request it
 * cannot parse (bad request line, header syntax, chunk encoding, conflicting lengths), headers
 * over its size limit, an `Expect` it cannot meet, a `CONNECT` — with a bare status line and no
 * body, and an HTTP/1.1 request without `Host` with a bare 400. Here each gets
 * `{"error": {"code": "bad_request", "message", "details": {"reason"}}}` and the status Node
 * would have used, so that every answer of the service has one shape.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Why Node refused the request, as `details.reason`. */
type ClientErrorReason = 'malformed' | 'header_overflow' | 'chunk_extensions_overflow' | 'timeout' | 'missing_host' | 'expectation' | 'connect';

function envelope(reason: ClientErrorReason, message: string): string {
  return JSON.stringify({ error: { code: 'bad_request', message, details: { reason } } });
}

/** A whole HTTP/1.1 answer, for a socket that has no ServerResponse. */
function rawAnswer(status: number, reason: ClientErrorReason, message: string): string {
  const body = envelope(reason, message);
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

function answer(res: ServerResponse, status: number, reason: ClientErrorReason, message: string): void {
  const body = envelope(reason, message);
  res.shouldKeepAlive = false;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** Node's own error codes → the status it would answer, and what to tell the client. */
function classify(error: NodeJS.ErrnoException): { status: number; reason: ClientErrorReason; message: string } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'header_overflow', message: 'the request line and headers are too large' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reason: 'chunk_extensions_overflow', message: 'the chunk extensions are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'timeout', message: 'the request took too long to arrive' };
    default:
      return { status: 400, reason: 'malformed', message: 'the request is not valid HTTP/1.1' };
  }
}

/** An HTTP server for `app` whose every answer, Node's own included, is in the error envelope. */
export function createHttpServer(app: RequestListener): Server {
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    // RFC 9112 §3.2: a 1.1 request without Host is answered 400 (Node would, without a body).
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      answer(res, 400, 'missing_host', 'an HTTP/1.1 request needs a Host header');
      return;
    }
    app(req, res);
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // A response already under way on this socket cannot be followed by another.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const { status, reason, message } = classify(error);
      socket.end(rawAnswer(status, reason, message), () => socket.destroy());
      return;
    }
    socket.destroy();
  });

  // Without this listener Node answers a bare 417.
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    answer(res, 417, 'expectation', 'only "Expect: 100-continue" is supported');
  });

  // Without this listener Node drops the connection without a word.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    if (socket.writable) socket.end(rawAnswer(400, 'connect', 'CONNECT is not supported'), () => socket.destroy());
    else socket.destroy();
  });

  return server;
}
