import { randomInt } from 'node:crypto';
import type { StateStore } from '../../state/store.js';
import { isApproval, newSecret, parseJson, secretKey, type CliApproval } from './approval.js';

// Device authorization (RFC 8628 shape) for machines without a browser: the command gets
// a device code (kept secret, polled with) and a short user code (typed by the user on
// any browser where they are signed in). Both expire after cli.device.codeTtlSeconds;
// the user code is single use (taken when approved or denied), the approved device code
// is single use (taken when redeemed); polling faster than the interval is slow_down.

/** RFC 8628 §6.1: consonants only (no vowels: no words), no look-alikes; 20^8 ≈ 2.6e10 codes. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_PATTERN = '^[A-Za-z]{4}-?[A-Za-z]{4}$';

interface DeviceRecord {
  readonly userCode: string;
  readonly roleKey?: string;
  readonly durationSeconds: number;
  readonly expires: number;
  readonly status: 'pending' | 'approved' | 'denied';
  readonly approval?: CliApproval;
}

export interface DeviceStart {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly expiresIn: number;
  readonly interval: number;
}

export interface PendingDevice {
  readonly userCode: string;
  readonly roleKey?: string;
  readonly durationSeconds: number;
}

export type DevicePoll =
  { readonly status: 'slow_down' | 'pending' | 'expired' | 'denied' } | { readonly status: 'approved'; readonly approval: CliApproval };

export interface DeviceCodes {
  start(request: { roleKey?: string; durationSeconds: number }): Promise<DeviceStart>;
  /** The request behind a user code, for the consent page; undefined when unknown or expired. */
  pending(userCode: string): Promise<PendingDevice | undefined>;
  /** Consumes the user code; false when it is unknown, expired or already used. */
  decide(userCode: string, decision: { approval: CliApproval } | 'deny'): Promise<boolean>;
  poll(deviceCode: string): Promise<DevicePoll>;
}

export function normaliseUserCode(input: string): string {
  const letters = input.toUpperCase().replace(/[^A-Z]/g, '');
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : letters;
}

function newUserCode(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += USER_CODE_ALPHABET.charAt(randomInt(USER_CODE_ALPHABET.length));
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

const deviceKey = (hash: string) => `cli-device:${hash}`;
const userKey = (userCode: string) => `cli-user-code:${userCode}`;
const pollKey = (hash: string) => `cli-device-poll:${hash}`;

function parseRecord(raw: string | undefined): DeviceRecord | undefined {
  const r = parseJson(raw) as Partial<DeviceRecord> | undefined;
  if (!r || typeof r.userCode !== 'string' || typeof r.expires !== 'number' || typeof r.durationSeconds !== 'number') return undefined;
  if (r.status !== 'pending' && r.status !== 'approved' && r.status !== 'denied') return undefined;
  if (r.status === 'approved' && !isApproval(r.approval)) return undefined;
  return r as DeviceRecord;
}

export function createDeviceCodes(
  store: StateStore,
  opts: { readonly ttlSeconds: number; readonly intervalSeconds: number; readonly now: () => number },
): DeviceCodes {
  const ttl = opts.ttlSeconds * 1000;
  const remaining = (r: DeviceRecord) => r.expires - opts.now();

  return {
    async start({ roleKey, durationSeconds }) {
      const deviceCode = newSecret();
      const hash = secretKey(deviceCode);
      const record: DeviceRecord = {
        ...(roleKey !== undefined ? { roleKey } : {}),
        userCode: '',
        durationSeconds,
        expires: opts.now() + ttl,
        status: 'pending',
      };
      // A fresh user code that no pending request holds (add is atomic across replicas).
      for (let tries = 0; ; tries++) {
        const userCode = newUserCode();
        if (await store.add(userKey(userCode), hash, ttl)) {
          await store.set(deviceKey(hash), JSON.stringify({ ...record, userCode }), ttl);
          return { deviceCode, userCode, expiresIn: opts.ttlSeconds, interval: opts.intervalSeconds };
        }
        if (tries > 5) throw new Error('no free user code');
      }
    },
    async pending(userCode) {
      const hash = await store.get(userKey(normaliseUserCode(userCode)));
      const r = hash === undefined ? undefined : parseRecord(await store.get(deviceKey(hash)));
      if (!r || r.status !== 'pending' || remaining(r) <= 0) return undefined;
      return { userCode: r.userCode, durationSeconds: r.durationSeconds, ...(r.roleKey !== undefined ? { roleKey: r.roleKey } : {}) };
    },
    async decide(userCode, decision) {
      const hash = await store.take(userKey(normaliseUserCode(userCode)));
      const r = hash === undefined ? undefined : parseRecord(await store.get(deviceKey(hash)));
      if (hash === undefined || !r || r.status !== 'pending' || remaining(r) <= 0) return false;
      const next: DeviceRecord =
        decision === 'deny' ? { ...r, status: 'denied' } : { ...r, status: 'approved', approval: decision.approval };
      await store.set(deviceKey(hash), JSON.stringify(next), remaining(r));
      return true;
    },
    async poll(deviceCode) {
      const hash = secretKey(deviceCode);
      if (!(await store.add(pollKey(hash), '1', opts.intervalSeconds * 1000))) return { status: 'slow_down' };
      const r = parseRecord(await store.get(deviceKey(hash)));
      if (!r || remaining(r) <= 0) return { status: 'expired' };
      if (r.status === 'pending') return { status: 'pending' };
      // Approved or denied: the answer is given once.
      const taken = parseRecord(await store.take(deviceKey(hash)));
      if (!taken) return { status: 'expired' };
      return taken.status === 'approved' && taken.approval ? { status: 'approved', approval: taken.approval } : { status: 'denied' };
    },
  };
}
