/**
 * The overview streams' re-checks of their callers (routes/overview.ts), shared per poll:
 *
 *   1. After each poll of the overview feed every open stream asks, before it pushes, whether
 *      its caller may still be served (access-control.ts `stillAdmitted`).
 *   2. For a session the answer is the same for every tab that holds it, so Redis is asked
 *      once per session per poll (keyed by the poll's snapshot time `atMs`): the first stream's
 *      check, in flight or done, is the answer of the others. Ten tabs of one session cost one
 *      session GET per poll, as one tab does; the cost grows with sessions, not tabs.
 *   3. A newer poll forgets the answers, so a sign-out or an expiry ends every stream of that
 *      session at the next poll, as it did when each stream asked for itself.
 *   4. Basic and no-users callers are checked against the configuration: no Redis, no sharing.
 *
 * Sessions are read one GET each, never batched: session keys belong to no queue and may sit
 * on different Cluster shards (shared/src/keys.ts), where one command may not span them.
 */
import type { Request } from 'express';
import type { AccessControl, Principal } from './access-control.ts';

export interface StreamAdmission {
  /** Whether the caller may still be served the update of the poll made at `pollAtMs` (ms since the epoch). Throws as `stillAdmitted` does. */
  check(req: Request, principal: Principal, pollAtMs: number): Promise<boolean>;
}

export function createStreamAdmission(access: Pick<AccessControl, 'stillAdmitted'>): StreamAdmission {
  let answersAtMs = Number.NEGATIVE_INFINITY;
  let answers = new Map<string, Promise<boolean>>();
  return {
    check(req, principal, pollAtMs) {
      const { sessionId } = principal;
      if (principal.via !== 'session' || sessionId === undefined) return access.stillAdmitted(req, principal);
      // A stream still on an older poll's update takes the newer answer: it is no staler.
      if (pollAtMs > answersAtMs) {
        answersAtMs = pollAtMs;
        answers = new Map();
      }
      let answer = answers.get(sessionId);
      if (!answer) {
        answer = access.stillAdmitted(req, principal);
        answers.set(sessionId, answer);
      }
      return answer;
    },
  };
}
