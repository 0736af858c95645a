// End to end in a real browser: Debian's Chromium opens /sso/pai, signs in, and the
// auto-submitting hand-off page posts the assertion to Alibaba's ACS. The post is caught
// by route interception inside the browser (nothing leaves the machine) and validated
// the way Alibaba's SP would. No click happens after the sign-in button (and, for the
// picker, the role link): the POST can only come from the nonce'd script, which proves
// the auto-submit works under the page's CSP.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAML, type Profile } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core';
import { ATTR_ROLE, ATTR_ROLE_SESSION_NAME, ATTR_SESSION_DURATION, SITE_SPECS } from '../spec/alibaba-facts.js';
import { handoffCsp } from '../helpers/saml-sp.js';
import type { Site } from '../../src/config/schema.js';
import { SKIP_BROWSER, launchChromium, startGateway, type Gateway, type TestUser } from './gateway.js';

const NS_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const NS_ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';

const PROD = { accountId: '1234567890123456', samlProvider: 'pai-sso-e2e' };
const RESEARCH = { accountId: '6543210987654321', samlProvider: 'pai-sso-research' };

const USERS: Record<string, TestUser> = {
  alice: { password: 'alice-e2e-password', id: 'u-alice-0001', displayName: 'Alice Liddell', groups: ['pai-users', 'unrelated'] },
  bob: { password: 'bob-e2e-password', id: 'u-bob-0002', displayName: 'Bob Builder', groups: ['pai-users', 'pai-admins'] },
};

const TARGET_URL: Record<Site, string> = {
  cn: 'https://pai.console.aliyun.com/?regionId=cn-hangzhou#/workspace/overview',
  intl: 'https://pai.console.alibabacloud.com/?regionId=ap-southeast-1#/workspace/overview',
};

function gatewayConfig(site: Site): Record<string, unknown> {
  return {
    idp: { entityId: `https://sso.e2e.example/${site}/saml/metadata` },
    accounts: {
      prod: { ...PROD, label: 'Production account' },
      research: { ...RESEARCH, label: 'Research account' },
    },
    roles: {
      'pai-developer': { account: 'prod', roleName: 'pai-sso-developer', label: 'PAI developer', sessionDuration: 3600 },
      'pai-admin': { account: 'research', roleName: 'pai-sso-admin', label: 'PAI administrator (research)' },
    },
    mappings: [
      { group: 'pai-users', roles: ['pai-developer'] },
      { group: 'pai-admins', roles: ['pai-admin'] },
    ],
    targets: { pai: { url: TARGET_URL[site], label: 'PAI console' } },
    defaultTarget: 'pai',
  };
}

const rolePair = (a: { accountId: string; samlProvider: string }, roleName: string) =>
  `acs:ram::${a.accountId}:role/${roleName},acs:ram::${a.accountId}:saml-provider/${a.samlProvider}`;

interface Capture {
  readonly method: string;
  readonly contentType: string | undefined;
  readonly fields: URLSearchParams;
  readonly url: string;
}

/** One browser context per sign-in: a fresh cookie jar, and the network fenced in. */
interface Run {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Resolves with the form post the ACS would have received. */
  readonly acs: Promise<Capture>;
  /** Every request the page made, by URL. */
  readonly requests: string[];
  /** Requests to anything but the gateway or the (intercepted) ACS: aborted, and a failure. */
  readonly blocked: string[];
  /** Console lines and page errors that mention the CSP, plus any page error. */
  readonly cspViolations: string[];
  /** The Content-Security-Policy header of each /sso/pai page served. */
  readonly ssoPageCsp: string[];
  /** Clicks on the hand-off page's no-script fallback button (must stay 0). */
  readonly fallbackClicks: () => number;
}

async function openRun(browser: Browser, gw: Gateway): Promise<Run> {
  const acsUrl = SITE_SPECS[gw.config.idp.site].acs;
  const gatewayOrigin = new URL(gw.url).origin;
  // bypassCSP false is the default; stated so nobody flips it to make a test pass.
  const context = await browser.newContext({ bypassCSP: false, javaScriptEnabled: true, serviceWorkers: 'block' });
  const requests: string[] = [];
  const blocked: string[] = [];
  const cspViolations: string[] = [];
  const ssoPageCsp: string[] = [];

  // Context routes run after page routes, so this catches everything but the ACS.
  await context.route('**', async (route: Route) => {
    const url = route.request().url();
    if (new URL(url).origin === gatewayOrigin) return route.continue();
    blocked.push(`${route.request().method()} ${url}`);
    return route.abort('blockedbyclient');
  });

  const page = await context.newPage();
  let resolveAcs: (c: Capture) => void = () => {};
  const acs = new Promise<Capture>((resolve) => {
    resolveAcs = resolve;
  });
  await page.route(`${new URL(acsUrl).origin}/**`, async (route: Route) => {
    const req = route.request();
    if (req.url() !== acsUrl) {
      blocked.push(`${req.method()} ${req.url()}`);
      return route.abort('blockedbyclient');
    }
    resolveAcs({
      method: req.method(),
      contentType: (await req.allHeaders())['content-type'],
      fields: new URLSearchParams(req.postData() ?? ''),
      url: req.url(),
    });
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<p>captured</p>' });
  });

  page.on('request', (r: Request) => {
    requests.push(`${r.method()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (/content security policy|refused to/i.test(m.text())) cspViolations.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => cspViolations.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (u.origin === gatewayOrigin && u.pathname === '/sso/pai') ssoPageCsp.push(r.headers()['content-security-policy'] ?? '(none)');
  });
  // Also catch violations that do not reach the console, and any click on the hand-off
  // page's fallback button, in every document the page loads. Injected through CDP before
  // any page script and reported over a CDP binding: neither is subject to the page's CSP,
  // and neither loosens it.
  let fallbackClicks = 0;
  await page.exposeBinding('__paiSsoReport', (_source, kind: string, detail: string) => {
    if (kind === 'csp') cspViolations.push(`securitypolicyviolation: ${detail}`);
    else if (kind === 'fallback-click') fallbackClicks += 1;
  });
  await page.addInitScript(() => {
    const report = (window as unknown as { __paiSsoReport: (kind: string, detail: string) => void }).__paiSsoReport;
    document.addEventListener('securitypolicyviolation', (e) => {
      report('csp', `${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} on ${location.pathname}`);
    });
    document.addEventListener(
      'click',
      (e) => {
        const t = e.target instanceof Element ? e.target : null;
        if (t?.closest('form#saml')) report('fallback-click', location.pathname);
      },
      true,
    );
  });

  return { context, page, acs, requests, blocked, cspViolations, ssoPageCsp, fallbackClicks: () => fallbackClicks };
}

async function signIn(run: Run, gw: Gateway, username: string): Promise<void> {
  const { page } = run;
  await page.goto(`${gw.url}/sso/pai?target=pai`);
  expect(new URL(page.url()).pathname).toBe('/login');
  expect(new URL(page.url()).searchParams.get('returnTo')).toBe('/sso/pai?target=pai');
  const user = USERS[username];
  if (!user) throw new Error(`no test user ${username}`);
  await page.fill('#username', username);
  await page.fill('#password', user.password);
  await page.click('form[action="/login"] button[type="submit"]');
}

/** The captured ACS post; on timeout, says what the browser reported instead. */
async function waitForAcs(run: Run, what: string, ms = 10_000): Promise<Capture> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new Error(
          `timed out after ${ms} ms waiting for ${what} (no click is made: only the hand-off page's script can send it). ` +
            `CSP violations: ${JSON.stringify(run.cspViolations)}; blocked: ${JSON.stringify(run.blocked)}; ` +
            `requests: ${JSON.stringify(run.requests)}; page: ${run.page.url()}`,
        ),
      );
    }, ms);
  });
  try {
    return await Promise.race([run.acs, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function attr(profile: Profile, name: string): unknown {
  return profile[name];
}

/** Validates as Alibaba's SP would, and returns the profile plus the decoded XML. */
async function validateAtSp(gw: Gateway, samlResponse: string): Promise<{ profile: Profile; xml: Document }> {
  const site = SITE_SPECS[gw.config.idp.site];
  const sp = new SAML({
    idpCert: gw.keys.current.pem,
    issuer: site.audience,
    audience: site.audience,
    callbackUrl: site.acs,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: 5000,
  });
  const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: samlResponse });
  if (!profile) throw new Error('SP returned no profile');
  const xml = new DOMParser().parseFromString(Buffer.from(samlResponse, 'base64').toString('utf8'), 'text/xml');
  return { profile, xml };
}

function expectFencedAndClean(run: Run, gw: Gateway): void {
  expect(run.blocked, 'requests to hosts other than the gateway and the intercepted ACS').toEqual([]);
  const acsUrl = SITE_SPECS[gw.config.idp.site].acs;
  for (const r of run.requests) {
    const url = r.slice(r.indexOf(' ') + 1);
    expect(url === acsUrl || new URL(url).origin === new URL(gw.url).origin, r).toBe(true);
  }
  expect(run.cspViolations, 'CSP violations or page errors').toEqual([]);
}

function expectStrictHandoffCsp(run: Run, gw: Gateway): void {
  const csp = run.ssoPageCsp.at(-1) ?? '';
  const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1] ?? '';
  expect(nonce).not.toBe('');
  const site = SITE_SPECS[gw.config.idp.site];
  expect(csp).toBe(handoffCsp(nonce, site));
}

function expectAssertion(gw: Gateway, xml: Document): void {
  const acs = SITE_SPECS[gw.config.idp.site].acs;
  const response = xml.getElementsByTagNameNS(NS_PROTOCOL, 'Response')[0];
  expect(response?.getAttribute('Destination')).toBe(acs);
  const confirmations = xml.getElementsByTagNameNS(NS_ASSERTION, 'SubjectConfirmationData');
  expect(confirmations.length).toBe(1);
  expect(confirmations[0]?.getAttribute('Recipient')).toBe(acs);
  const audiences = xml.getElementsByTagNameNS(NS_ASSERTION, 'Audience');
  expect(audiences.length).toBe(1);
  expect(audiences[0]?.textContent).toBe(SITE_SPECS[gw.config.idp.site].audience);
}

describe.skipIf(SKIP_BROWSER)('Open PAI in Chromium (hand-off intercepted in the browser)', () => {
  let browser: Browser | undefined;
  let cn: Gateway | undefined;
  let intl: Gateway | undefined;
  const runs: Run[] = [];

  beforeAll(async () => {
    // Started together: key generation and browser start-up overlap.
    const [b, g1, g2] = await Promise.all([
      launchChromium(),
      startGateway({ site: 'cn', config: gatewayConfig('cn'), users: USERS }),
      startGateway({ site: 'intl', config: gatewayConfig('intl'), users: USERS }),
    ]);
    browser = b;
    cn = g1;
    intl = g2;
  });

  afterAll(async () => {
    for (const r of runs) await r.context.close().catch(() => {});
    await browser?.close();
    await cn?.close();
    await intl?.close();
  });

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`${what} did not start (see beforeAll)`);
    return v;
  };

  it('cn, one role: sign-in hands off straight to the ACS; the assertion validates', async () => {
    const gw = need(cn, 'cn gateway');
    const run = await openRun(need(browser, 'Chromium'), gw);
    runs.push(run);

    await signIn(run, gw, 'alice');
    // No click after the sign-in button: only the page's own script can send this POST.
    const post = await waitForAcs(run, 'the form post to the ACS');

    expect(post.method).toBe('POST');
    expect(post.url).toBe('https://signin.aliyun.com/saml-role/sso');
    expect(post.contentType).toBe('application/x-www-form-urlencoded');
    expect([...post.fields.keys()].sort()).toEqual(['RelayState', 'SAMLResponse']);
    expect(post.fields.get('RelayState')).toBe(TARGET_URL.cn);
    await run.page.waitForURL(post.url);
    expect(await run.page.locator('body').innerText()).toBe('captured');

    const { profile, xml } = await validateAtSp(gw, post.fields.get('SAMLResponse') ?? '');
    expect(profile.issuer).toBe(gw.config.idp.entityId);
    expect(profile.nameID).toBe(USERS['alice']?.id);
    expect(attr(profile, ATTR_ROLE)).toBe(rolePair(PROD, 'pai-sso-developer'));
    expect(attr(profile, ATTR_ROLE_SESSION_NAME)).toMatch(/^alice-[A-Za-z0-9_-]{12}$/);
    expect(attr(profile, ATTR_SESSION_DURATION)).toBe('3600');
    expectAssertion(gw, xml);

    expectStrictHandoffCsp(run, gw);
    expectFencedAndClean(run, gw);
    expect(run.fallbackClicks()).toBe(0);
    // The picker was skipped: login → /sso/pai → ACS, nothing else navigated.
    expect(run.requests.filter((r) => r.startsWith('GET ') && r.includes('/sso/pai'))).toHaveLength(2);
    const issued = gw.logs.filter((l) => l['audit'] === 'assertion.issued');
    expect(issued.map((l) => [l['user'], l['roles']])).toEqual([['alice', ['acs:ram::1234567890123456:role/pai-sso-developer']]]);
    expect(JSON.stringify(gw.logs)).not.toContain(post.fields.get('SAMLResponse') ?? '<none>');
  });

  it('cn, two roles: the picker is shown, a role is chosen by its label, and only that role is asserted', async () => {
    const gw = need(cn, 'cn gateway');
    const run = await openRun(need(browser, 'Chromium'), gw);
    runs.push(run);

    await signIn(run, gw, 'bob');
    await run.page.waitForURL((u) => u.pathname === '/sso/pai' && !u.searchParams.has('role'));
    expect(await run.page.locator('h1').innerText()).toBe('Choose a role for PAI console');
    const choices = await run.page.locator('ul.choices li').allInnerTexts();
    expect(choices).toHaveLength(2);
    expect(choices.join('\n')).toContain('PAI developer');
    expect(choices.join('\n')).toContain('Research account');
    // The user picks by what they read, and the page never shows them an ARN.
    expect(await run.page.locator('body').innerText()).not.toContain('acs:ram');

    await run.page.getByText('PAI administrator (research)', { exact: true }).click();
    const post = await waitForAcs(run, 'the form post to the ACS after choosing a role');

    expect(post.method).toBe('POST');
    expect(post.fields.get('RelayState')).toBe(TARGET_URL.cn);
    const { profile, xml } = await validateAtSp(gw, post.fields.get('SAMLResponse') ?? '');
    expect(profile.issuer).toBe(gw.config.idp.entityId);
    expect(attr(profile, ATTR_ROLE)).toBe(rolePair(RESEARCH, 'pai-sso-admin'));
    expect(attr(profile, ATTR_ROLE_SESSION_NAME)).toMatch(/^bob-[A-Za-z0-9_-]{12}$/);
    // pai-admin has no sessionDuration of its own; developer's 3600 must not leak in.
    expect(attr(profile, ATTR_SESSION_DURATION)).toBeUndefined();
    const roleValues = [...Array.from(xml.getElementsByTagNameNS(NS_ASSERTION, 'Attribute'))]
      .filter((a) => a.getAttribute('Name') === ATTR_ROLE)
      .flatMap((a) => Array.from(a.getElementsByTagNameNS(NS_ASSERTION, 'AttributeValue')).map((v) => v.textContent));
    expect(roleValues).toEqual([rolePair(RESEARCH, 'pai-sso-admin')]);
    expectAssertion(gw, xml);

    expectStrictHandoffCsp(run, gw);
    expectFencedAndClean(run, gw);
    expect(run.fallbackClicks()).toBe(0);
  });

  it('intl: the hand-off goes to the international ACS with the international audience', async () => {
    const gw = need(intl, 'intl gateway');
    const run = await openRun(need(browser, 'Chromium'), gw);
    runs.push(run);

    await signIn(run, gw, 'alice');
    const post = await waitForAcs(run, 'the form post to the international ACS');

    expect(post.url).toBe('https://signin.alibabacloud.com/saml-role/sso');
    expect(post.fields.get('RelayState')).toBe(TARGET_URL.intl);
    const { profile, xml } = await validateAtSp(gw, post.fields.get('SAMLResponse') ?? '');
    expect(profile.issuer).toBe(gw.config.idp.entityId);
    expect(attr(profile, ATTR_ROLE)).toBe(rolePair(PROD, 'pai-sso-developer'));
    expectAssertion(gw, xml);
    expect(xml.getElementsByTagNameNS(NS_ASSERTION, 'Audience')[0]?.textContent).toBe('urn:alibaba:cloudcomputing:international');

    expectStrictHandoffCsp(run, gw);
    expectFencedAndClean(run, gw);
    expect(run.fallbackClicks()).toBe(0);
  });
});
