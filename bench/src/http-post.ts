/**
 * The bench's HTTP load generator: JSON POSTs over keep-alive connections (node:http with a
 * keep-alive Agent, the cheapest client Node ships), so the producer, not connection set-up
 * or the client, is what gets measured.
 */
import { Agent, request } from 'node:http';

export interface HttpPoster {
  /** POSTs a ready-made JSON body to `path`; resolves with the status and the response text. */
  post(path: string, body: Buffer): Promise<{ status: number; text: string }>;
  /** Closes the idle keep-alive connections. */
  close(): void;
}

/** A client of `baseUrl` (`http://127.0.0.1:3000`) holding at most `maxSockets` connections. */
export function createHttpPoster(baseUrl: string, options: { maxSockets: number }): HttpPoster {
  const { hostname, port } = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets });
  return {
    post: (path, body) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            hostname,
            port,
            path,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': body.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}
