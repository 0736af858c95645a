// Passkeys in a real browser: Debian's Chromium with a virtual authenticator (CDP
// WebAuthn domain) enrols a passkey at /account/security, signs in with it, and a second
// authenticator holding the same credential ID under another key is refused. Every
// assertion the gateway hands off is checked by node-saml as Alibaba's SP and carries the
// multi-factor AuthnContextClassRef. Nothing leaves the machine: the ACS post is caught
// inside the browser and every other host is blocked.

import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAML } from '@node-saml/node-saml';
import type { Browser, BrowserContext, CDPSession, Page, Route } from 'playwright-core';
import { SITES } from '../../src/alibaba.js';
import { AUTHN_CONTEXT_MFA } from '../../src/saml/assertion.js';
import { SKIP_BROWSER, launchChromium, startGateway, type Gateway, type TestUser } from './gateway.js';

const USERS: Record<string, TestUser> = {
  alice: { password: 'alice-e2e-password', id: 'u-alice-0001', displayName: 'Alice Liddell', groups: ['pai-admins'] },
};

const CONFIG = {
  idp: { entityId: 'https://sso.e2e.example/saml/metadata' },
  accounts: { prod: { accountId: '1234567890123456', samlProvider: 'pai-sso-e2e' } },
  roles: { 'pai-admin': { account: 'prod', roleName: 'pai-sso-admin', requireMfa: true } },
  mappings: [{ group: 'pai-admins', roles: ['pai-admin'] }],
  targets: { pai: { url: 'https://pai.console.aliyun.com/?regionId=cn-hangzhou#/workspace/overview' } },
};

interface Tab {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly cdp: CDPSession;
  readonly authenticatorId: string;
  /** The SAMLResponse of the next hand-off the page makes. */
  nextAcs(): Promise<string>;
  readonly errors: string[];
}

async function openTab(browser: Browser, gw: Gateway): Promise<Tab> {
  const context = await browser.newContext({ bypassCSP: false });
  const origin = new URL(gw.url).origin;
  const acsUrl = SITES.cn.acs;
  const errors: string[] = [];
  let pending: ((v: string) => void) | undefined;
  await context.route('**', async (route: Route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    if (url === acsUrl && route.request().method() === 'POST') {
      pending?.(new URLSearchParams(route.request().postData() ?? '').get('SAMLResponse') ?? '');
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>captured</p>' });
    }
    errors.push(`blocked ${url}`);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (/content security policy|refused to/i.test(m.text())) errors.push(`csp: ${m.text()}`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    context,
    page,
    cdp,
    authenticatorId,
    errors,
    nextAcs: () =>
      new Promise<string>((resolve) => {
        pending = resolve;
      }),
  };
}

async function signInWithPassword(tab: Tab, gw: Gateway, returnTo = '/'): Promise<void> {
  await tab.page.goto(`${gw.url}/login?returnTo=${encodeURIComponent(returnTo)}`);
  await tab.page.fill('#username', 'alice');
  await tab.page.fill('#password', USERS['alice']!.password);
  await tab.page.click('form[action="/login"] button[type="submit"]');
  await tab.page.waitForLoadState();
}

async function validateAtSp(gw: Gateway, samlResponse: string) {
  const site = SITES.cn;
  const sp = new SAML({
    idpCert: gw.keys.current.pem,
    issuer: site.audience,
    audience: site.audience,
    callbackUrl: site.acs,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
  });
  const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: samlResponse });
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  return { profile, classRef: /<saml:AuthnContextClassRef>([^<]+)</.exec(xml)?.[1] };
}

const audits = (gw: Gateway, event: string) => gw.logs.filter((l) => l['audit'] === event);

describe.skipIf(SKIP_BROWSER)('passkeys in Chromium (CDP virtual authenticator)', () => {
  let browser: Browser;
  let gw: Gateway;
  let credential: { credentialId: string; rpId?: string; userHandle?: string; signCount: number; privateKey: string };

  beforeAll(async () => {
    browser = await launchChromium();
    gw = await startGateway({ site: 'cn', config: CONFIG, users: USERS, host: 'localhost' });
  }, 60_000);
  afterAll(async () => {
    await browser.close();
    await gw.close();
  });

  it('enrols a passkey at /account/security after a password sign-in; the key is stored, sealed', async () => {
    const tab = await openTab(browser, gw);
    try {
      await signInWithPassword(tab, gw, '/account/security');
      expect(new URL(tab.page.url()).pathname).toBe('/account/security');
      await tab.page.fill('#passkey-label', 'Laptop');
      await tab.page.click('#passkey-button');
      await tab.page.waitForSelector('#recovery-codes');
      expect(await tab.page.locator('#recovery-codes li').count()).toBe(10);
      const { credentials } = await tab.cdp.send('WebAuthn.getCredentials', { authenticatorId: tab.authenticatorId });
      expect(credentials).toHaveLength(1);
      credential = credentials[0]!;
      expect(credential.rpId).toBe('localhost');
      expect(audits(gw, 'mfa.enrolled')).toMatchObject([{ user: 'alice', method: 'webauthn' }]);
      const dir = join(new URL(`file://${gw.config.identity.local.usersFile}`).pathname, '..', 'mfa');
      const [file] = await readdir(dir);
      const text = await readFile(join(dir, file!), 'utf8');
      expect(text).not.toContain(Buffer.from(credential.credentialId, 'base64').toString('base64url'));
      expect(tab.errors).toEqual([]);
    } finally {
      await tab.context.close();
    }
  }, 60_000);

  it('signs in with the passkey after the password; the requireMfa role is issued with the multi-factor class', async () => {
    const tab = await openTab(browser, gw);
    try {
      // The same authenticator in a fresh browser profile: the passkey enrolled above.
      await tab.cdp.send('WebAuthn.addCredential', {
        authenticatorId: tab.authenticatorId,
        credential: { ...credential, isResidentCredential: true },
      });
      await signInWithPassword(tab, gw, '/sso/pai?target=pai');
      expect(new URL(tab.page.url()).pathname).toBe('/login/mfa');
      const acs = tab.nextAcs();
      await tab.page.click('#passkey-button');
      const samlResponse = await acs;
      const { profile, classRef } = await validateAtSp(gw, samlResponse);
      expect(profile?.['https://www.aliyun.com/SAML-Role/Attributes/Role']).toContain('role/pai-sso-admin');
      expect(classRef).toBe(AUTHN_CONTEXT_MFA);
      expect(audits(gw, 'mfa.verified')).toMatchObject([{ user: 'alice', method: 'webauthn' }]);
      expect(audits(gw, 'assertion.issued').at(-1)).toMatchObject({ authnContext: AUTHN_CONTEXT_MFA });
      expect(tab.errors).toEqual([]);
    } finally {
      await tab.context.close();
    }
  }, 60_000);

  it('refuses another authenticator that presents the same credential ID under its own key', async () => {
    const tab = await openTab(browser, gw);
    try {
      const impostorKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' });
      await tab.cdp.send('WebAuthn.addCredential', {
        authenticatorId: tab.authenticatorId,
        credential: {
          credentialId: credential.credentialId,
          isResidentCredential: false,
          rpId: 'localhost',
          privateKey: Buffer.from(impostorKey).toString('base64'),
          signCount: 1000,
        },
      });
      await signInWithPassword(tab, gw, '/sso/pai?target=pai');
      expect(new URL(tab.page.url()).pathname).toBe('/login/mfa');
      await tab.page.click('#passkey-button');
      await tab.page.waitForSelector('.err');
      expect(new URL(tab.page.url()).pathname).toBe('/login/mfa/passkey');
      expect(await tab.page.locator('.err').textContent()).toContain('did not work');
      expect((await tab.context.cookies()).some((c) => c.name === 'pai_sso')).toBe(false);
      expect(audits(gw, 'mfa.failed').at(-1)).toMatchObject({ user: 'alice', method: 'webauthn' });
      expect(String(audits(gw, 'mfa.failed').at(-1)?.['reason'])).toMatch(/^invalid|not-verified/);
    } finally {
      await tab.context.close();
    }
  }, 60_000);
});
