import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { PaiSsoError } from '../../src/errors.js';
import type { RedirectSource } from '../../src/identity/source.js';

// Routes that fail on purpose, registered the way an upstream IdP's routes are.
const failing: RedirectSource = {
  type: 'redirect',
  kind: 'oidc',
  label: 'Failing IdP',
  startPath: '/fail/start',
  callbackPath: '/fail/callback',
  ready: async () => ({ ok: true }),
  close: async () => {},
  routes: async (app) => {
    app.get('/fail/unavailable', async () => {
      throw new PaiSsoError('PAI_SSO_TEST_DOWN', 'unavailable', 'the directory is down');
    });
    app.get('/fail/refused', async () => {
      throw new PaiSsoError('PAI_SSO_TEST_REFUSED', 'refused', 'not acting on that');
    });
    app.get('/fail/bug', async () => {
      throw new Error('a bug');
    });
    app.get('/fail/teapot', async () => {
      throw Object.assign(new Error('short and stout'), { statusCode: 418 });
    });
  },
};

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ extraSources: [failing] });
});
afterAll(() => gw.close());

describe('error pages', () => {
  it.each([
    ['/fail/unavailable', 503, 'Temporarily unavailable'],
    ['/fail/refused', 400, 'Bad request'],
    ['/fail/bug', 500, 'Something went wrong'],
    ['/fail/teapot', 418, 'Bad request'],
    ['/sso/pai?target=not%20a%20name', 400, 'Bad request'],
    ['/nothing-here', 404, 'Not found'],
  ])('%s: %i "%s", a nonce-bound CSP, not cached', async (url, status, title) => {
    const res = await gw.app.inject(url);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain(`<h1>${title}</h1>`);
    const nonce = /style-src 'nonce-([^']+)'/.exec(String(res.headers['content-security-policy']))?.[1];
    expect(nonce).toBeTruthy();
    expect(res.body).toContain(`nonce="${nonce}"`);
    expect(res.body).not.toMatch(/the directory is down|a bug|short and stout|not acting on that/);
  });

  it('audits what the client got wrong with the error code, logs our failures', async () => {
    const rejected = gw.logs.filter((l) => l['audit'] === 'request.rejected');
    expect(rejected.some((l) => l['reason'] === 'PAI_SSO_TEST_REFUSED' && l['status'] === 400)).toBe(true);
    const failed = gw.logs.filter((l) => l['msg'] === 'request failed').map((l) => (l['err'] as { message?: string }).message);
    expect(failed).toEqual(['a bug']);
    // A dependency that is down is a refusal, logged as a warning with its code, not a failure of ours.
    const refused = gw.logs.filter((l) => l['msg'] === 'refused: dependency unavailable').map((l) => l['err']);
    expect(refused).toMatchObject([{ code: 'PAI_SSO_TEST_DOWN', message: 'the directory is down' }]);
  });
});
