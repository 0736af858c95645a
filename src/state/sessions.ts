import type { StateStore } from './store.js';

// Server-side session records: the sealed cookie says who the user is, the record says
// whether that session still counts. A record holds only what revocation needs. Keys:
//   session:<sid>               the record (JSON), living until the absolute expiry
//   user-sessions:<username>    index of a user's sids (for list and revoke --user)
//   revoked-before:<username>   sessions of that user issued at or before this instant are revoked
//   revoked-before:*            the same for every session (revoke --all)
// The request check reads the record and both marks with one MGET: one round trip.

export interface SessionRecord {
  readonly sid: string;
  readonly userId: string;
  readonly username: string;
  readonly source: string;
  /** ms */
  readonly issued: number;
  /** ms: the absolute expiry */
  readonly expires: number;
  readonly revoked: boolean;
}

export type SessionCheck = { ok: true } | { ok: false; reason: 'unknown' | 'revoked' | 'mismatch' };

const ALL = 'revoked-before:*';
const recordKey = (sid: string) => `session:${sid}`;
const userKey = (username: string) => `user-sessions:${username}`;
const userMark = (username: string) => `revoked-before:${username}`;

function parse(sid: string, raw: string | undefined): SessionRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const r = JSON.parse(raw) as Omit<SessionRecord, 'sid'>;
    return typeof r.userId === 'string' && typeof r.username === 'string' && typeof r.issued === 'number' ? { ...r, sid } : undefined;
  } catch {
    return undefined;
  }
}

export interface SessionRecords {
  create(sid: string, user: { id: string; username: string; source: string }, issued: number, expires: number): Promise<void>;
  /** One round trip; throws StoreUnavailableError when the store cannot answer. */
  check(sid: string, user: { id: string; username: string }): Promise<SessionCheck>;
  revoke(sid: string): Promise<SessionRecord | undefined>;
  /** Every session of the user, including ones being created right now. */
  revokeUser(username: string): Promise<SessionRecord[]>;
  revokeAll(): Promise<number>;
  list(username?: string): Promise<SessionRecord[]>;
}

export function createSessionRecords(
  store: StateStore,
  opts: { readonly absoluteTimeoutMs: number; readonly now?: () => number },
): SessionRecords {
  const now = opts.now ?? Date.now;
  const write = async (r: SessionRecord) => {
    const { sid, ...rest } = r;
    const ttl = r.expires - now();
    if (ttl > 0) await store.set(recordKey(sid), JSON.stringify(rest), ttl);
  };
  const read = async (sids: readonly string[]) => {
    const raw = await store.mget(sids.map(recordKey));
    return sids.map((sid, i) => parse(sid, raw[i])).filter((r): r is SessionRecord => r !== undefined);
  };
  const revokeRecords = async (records: readonly SessionRecord[]) => {
    const out = records.filter((r) => !r.revoked).map((r) => ({ ...r, revoked: true }));
    await Promise.all(out.map(write));
    return out;
  };

  return {
    async create(sid, user, issued, expires) {
      const record: SessionRecord = { sid, userId: user.id, username: user.username, source: user.source, issued, expires, revoked: false };
      await write(record);
      await store.sadd(userKey(user.username), sid, expires - now());
    },
    async check(sid, user) {
      const [raw, all, mine] = await store.mget([recordKey(sid), ALL, userMark(user.username)]);
      const r = parse(sid, raw);
      if (!r) return { ok: false, reason: 'unknown' };
      if (r.userId !== user.id || r.username !== user.username) return { ok: false, reason: 'mismatch' };
      const before = Math.max(Number(all ?? -1), Number(mine ?? -1));
      if (r.revoked || r.issued <= before || r.expires <= now()) return { ok: false, reason: 'revoked' };
      return { ok: true };
    },
    async revoke(sid) {
      const [r] = await read([sid]);
      if (!r) return undefined;
      await revokeRecords([r]);
      return { ...r, revoked: true };
    },
    async revokeUser(username) {
      // The mark first: a login finishing while we walk the index is covered by it.
      await store.set(userMark(username), String(now()), opts.absoluteTimeoutMs);
      return revokeRecords(await read(await store.smembers(userKey(username))));
    },
    async revokeAll() {
      await store.set(ALL, String(now()), opts.absoluteTimeoutMs);
      const sids = (await store.scan('session:')).map((k) => k.slice('session:'.length));
      return (await revokeRecords(await read(sids))).length;
    },
    async list(username) {
      const sids =
        username !== undefined
          ? await store.smembers(userKey(username))
          : (await store.scan('session:')).map((k) => k.slice('session:'.length));
      const records = await read(sids);
      const names = [...new Set(records.map((r) => r.username))];
      const [all, ...marks] = await store.mget([ALL, ...names.map(userMark)]);
      const mark = new Map(names.map((n, i) => [n, Number(marks[i] ?? -1)]));
      const before = (r: SessionRecord) => Math.max(Number(all ?? -1), mark.get(r.username) ?? -1);
      return records.map((r) => (r.revoked || r.issued <= before(r) ? { ...r, revoked: true } : r)).sort((a, b) => a.issued - b.issued);
    },
  };
}
