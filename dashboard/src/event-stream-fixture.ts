/**
 * Test fixture: a Server-Sent Events client over a real socket (fetch), as a browser's
 * EventSource reads the stream: `event:`/`data:` blocks, `retry:` and `:` comment lines. Never
 * imported by app code; `close()` drops the connection, as closing the tab does.
 */
export interface StreamEvent {
  event: string;
  data: string;
}

export interface EventStreamClient {
  response: Response;
  /** Every event received so far, in order. */
  events: StreamEvent[];
  /** `retry:` values and comment lines seen so far. */
  retries: number[];
  comments: string[];
  /** Settles when the server ends the stream (or close() drops it). */
  ended: Promise<void>;
  /** The first event (already received or to come) at or after index `from` that matches, within `timeoutMs` (default 10 s). */
  next(match: (event: StreamEvent) => boolean, options?: { from?: number; timeoutMs?: number; what?: string }): Promise<StreamEvent>;
  close(): void;
}

export async function openEventStream(url: string, headers: Record<string, string> = {}): Promise<EventStreamClient> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: StreamEvent[] = [];
  const retries: number[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  let markEnded!: () => void;
  const endedPromise = new Promise<void>((resolve) => (markEnded = resolve));

  const parseBlock = (block: string) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line.startsWith('retry:')) retries.push(Number(line.slice(6)));
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  };

  void (async () => {
    if (!response.ok || !response.body) {
      ended = true;
      markEnded();
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          parseBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        for (const waiter of waiters) waiter();
      }
    } catch {
      // Aborted by close(), or the server went away.
    } finally {
      ended = true;
      markEnded();
      for (const waiter of waiters) waiter();
    }
  })();

  return {
    response,
    events,
    retries,
    comments,
    ended: endedPromise,
    next(match, options = {}) {
      const { from = 0, timeoutMs = 10_000, what = 'an event' } = options;
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.slice(from).find(match);
          if (found) return done(() => resolve(found));
          if (ended) done(() => reject(new Error(`the stream ended before ${what}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      abort.abort();
    },
  };
}
