/**
 * A TCP proxy in front of a test's redis-server that can silently swallow traffic: the
 * sockets stay open but nothing gets through, like a half-open connection after a network
 * blip. `blackhole()` → nothing is forwarded (new connections hang too); `restore()` resets
 * every connection (their streams lost bytes) and forwards new ones again. Never imported
 * by app code.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  url: string;
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let swallowing = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (swallowing) {
      client.resume();
      return;
    }
    const upstream = connect(target.port, target.host);
    track(upstream);
    client.on('data', (chunk) => {
      if (!swallowing) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!swallowing) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('proxy has no address');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    blackhole: () => {
      swallowing = true;
    },
    restore: () => {
      swallowing = false;
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
