import type { FastifyBaseLogger } from 'fastify';

// One line per decision, all under `audit: <event>` so a log pipeline can route them.
// Fields are chosen here, never passed through from a request: nothing secret can slip in.

interface Common {
  readonly ip: string;
  /** The socket peer, when it may differ from ip (a trusted proxy forwarded the request). */
  readonly peer?: string;
  readonly reqId?: string | undefined;
}

export type AuditEvent =
  | (Common & {
      event: 'assertion.issued';
      user: string;
      userId: string;
      groups: readonly string[];
      roles: readonly string[];
      target: string;
      assertionId: string;
      roleSessionName: string;
      authnContext?: string;
    })
  | (Common & {
      event: 'assertion.denied';
      user: string;
      reason: 'no-role' | 'role-not-granted' | 'unknown-target' | 'mfa-required';
      target?: string;
      role?: string;
    })
  | (Common & {
      event: 'login.failed';
      user: string;
      source?: string;
      reason: 'bad-credentials' | 'csrf' | 'source-unavailable' | (string & {});
    })
  | (Common & { event: 'login.succeeded'; user: string; userId: string; source: string; groups: readonly string[]; mfa?: string })
  | (Common & {
      event: 'mfa.verified' | 'mfa.failed' | 'mfa.enrolled' | 'mfa.step-up';
      user: string;
      source: string;
      method: string;
      reason?: string;
      detail?: string;
    })
  | (Common & { event: 'mfa.reset'; by: 'admin'; operator: string; user: string; source: string; host: string })
  | (Common & { event: 'logout'; user: string; sid?: string })
  | (Common & {
      event: 'groups.refresh';
      user: string;
      source: string;
      result: 'updated' | 'user-gone' | 'sign-in-again' | 'unavailable';
      groups?: readonly string[];
    })
  | (Common & {
      event: 'login.throttled';
      user: string;
      scope: 'username' | 'address' | 'rate';
      locked: boolean;
      retryAfter: number;
      path: string;
    })
  | (Common & { event: 'login.locked'; user: string; scope: 'username' | 'address'; seconds: number; failures: number; path: string })
  | (Common & { event: 'session.refused'; user: string; sid: string; reason: string })
  | (Common & {
      event: 'session.revoked';
      by: 'admin';
      operator: string;
      scope: 'sid' | 'user' | 'all';
      user?: string;
      sid?: string;
      count: number;
      host: string;
    })
  | (Common & { event: 'request.rejected'; status: number; reason: string; path: string })
  | (Common & {
      event: 'credentials.authorized';
      user: string;
      userId: string;
      role: string;
      roleKey: string;
      /** How the command got here: the loopback browser flow or the device flow. */
      flow: 'loopback' | 'device';
      /** What was redeemed: a loopback code, an approved device code, or the session's refresh grant. */
      grant: 'code' | 'device_code' | 'refresh';
      durationSeconds: number;
      assertionId: string;
      roleSessionName: string;
    })
  | (Common & { event: 'credentials.denied'; user: string; reason: string; flow: 'loopback' | 'device' | '-'; role?: string });

export type Audit = (e: AuditEvent) => void;

/** Caps attacker-chosen strings (a username field can hold anything) before they reach a log. */
export function clip(value: string, max = 128): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

export function createAudit(log: FastifyBaseLogger): Audit {
  const audit = log.child({ component: 'audit' });
  return (e) => {
    const { event, ...fields } = e;
    audit.info({ audit: event, ...fields }, event);
  };
}
