/** Starts an HTTP server for an app and says where it listens; `close()` stops it. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface HttpServerHandle {
  server: Server;
  /** e.g. `http://127.0.0.1:3001`, with the port actually bound. */
  url: string;
  port: number;
  /** Stops accepting connections, drops idle keep-alive ones, and waits for in-flight requests. */
  close(): Promise<void>;
}

export function startHttpServer(app: RequestListener, options: { host: string; port: number }): Promise<HttpServerHandle> {
  const server = createServer(app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        server,
        port,
        url: `http://${host}:${port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            server.closeIdleConnections();
          }),
      });
    });
  });
}
