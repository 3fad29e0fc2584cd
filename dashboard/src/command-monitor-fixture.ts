/**
 * Test fixture: the Redis commands one connection sends, as the server sees them (MONITOR,
 * filtered by the connection's address), for tests that count what a feature costs Redis or
 * check what it never sends. Never imported by app code; `close()` drops the monitor.
 *
 * `settle()` sends an ECHO mark on the watched connection and waits for MONITOR to show it:
 * a connection's commands reach the server in order, so by then every command sent before the
 * call has been seen. The marks themselves are not counted.
 */
import { waitFor } from '@conveyor/shared/testing';
import { Redis } from 'ioredis';

export interface CommandMonitor {
  /** Every command the connection sent since the monitor started, lower-case name first, then its arguments. */
  commands: string[][];
  /** Waits until every command sent before this call is in `commands`; resolves its length. */
  settle(): Promise<number>;
  close(): void;
}

const MARK = 'conveyor-monitor-mark:';

/** Watches `watched`, the connection named `connectionName` (CLIENT SETNAME), on the server at `redisUrl`. */
export async function monitorConnection(redisUrl: string, watched: Redis, connectionName: string): Promise<CommandMonitor> {
  const admin = new Redis(redisUrl);
  try {
    const clients = (await admin.client('LIST')) as string;
    const named = clients.split('\n').filter((line) => line.includes(` name=${connectionName} `));
    if (named.length !== 1) throw new Error(`expected one connection named ${connectionName}, found ${named.length}`);
    const addr = / addr=(\S+) /.exec(named[0]!)![1]!;
    const monitor = await admin.monitor();
    const commands: string[][] = [];
    const marks = new Set<string>();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== addr) return;
      const [name = '', ...rest] = args;
      if (name.toLowerCase() === 'echo' && rest[0]?.startsWith(MARK)) marks.add(rest[0]);
      else commands.push([name.toLowerCase(), ...rest]);
    });
    let sent = 0;
    return {
      commands,
      async settle() {
        const mark = `${MARK}${sent++}`;
        await watched.echo(mark);
        await waitFor(() => marks.has(mark), { what: `MONITOR to show ${mark}` });
        return commands.length;
      },
      close() {
        monitor.disconnect();
        admin.disconnect();
      },
    };
  } catch (error) {
    admin.disconnect();
    throw error;
  }
}
