import { describe, expect, it } from 'vitest';
import { createFlowCookie, type CookieAttributes } from '../../src/crypto/flow-cookie.js';
import { createSealer } from '../../src/crypto/sealer.js';
import { constantTimeEqual } from '../../src/crypto/constant-time.js';

const attributes: CookieAttributes = { path: '/', httpOnly: true, secure: true, sameSite: 'lax' };
const secret = Buffer.alloc(32, 7);

function jar() {
  const cookies: Record<string, string | undefined> = {};
  const reply = {
    setCookie: (name: string, value: string, opts: CookieAttributes & { maxAge: number }) => {
      cookies[name] = value;
      reply.maxAge = opts.maxAge;
    },
    clearCookie: (name: string) => {
      cookies[name] = undefined;
    },
    maxAge: 0,
  };
  return { cookies, reply, request: { cookies } };
}

describe('createFlowCookie', () => {
  let t = 1_000_000;
  const flow = (purpose = 'p') =>
    createFlowCookie<{ id: string }>({
      name: 'f',
      sealer: createSealer(secret, purpose),
      ttlSeconds: 60,
      isShape: (v) => typeof v['id'] === 'string',
      attributes,
      now: () => t,
    });

  it('reads back what it sealed, with the expiry it set, until the expiry', () => {
    const { reply, request } = jar();
    const f = flow();
    expect(f.begin(reply, { id: 'a' })).toEqual({ id: 'a', exp: t + 60_000 });
    expect(reply.maxAge).toBe(60);
    expect(f.read(request)).toEqual({ id: 'a', exp: t + 60_000 });
    t += 60_000;
    expect(f.read(request)).toBeUndefined();
  });

  it('refuses another purpose, a wrong shape and a cleared cookie', () => {
    const { reply, request, cookies } = jar();
    flow('other').begin(reply, { id: 'a' });
    expect(flow().read(request)).toBeUndefined();
    cookies['f'] = createSealer(secret, 'p').seal({ id: 1, exp: t + 1000 });
    expect(flow().read(request)).toBeUndefined();
    cookies['f'] = createSealer(secret, 'p').seal({ id: 'x' });
    expect(flow().read(request)).toBeUndefined();
    flow().begin(reply, { id: 'a' });
    flow().end(reply);
    expect(flow().read(request)).toBeUndefined();
  });
});

describe('constantTimeEqual', () => {
  it('is plain equality on strings of any length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('é', 'e')).toBe(false);
  });
});
