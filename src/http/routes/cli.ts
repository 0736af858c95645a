import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import type { GatewayDeps } from '../deps.js';
import { assertionSubject } from '../../mapping/subject.js';
import { constantTimeEqual } from '../../crypto/constant-time.js';
import { createSessionRecords } from '../../state/sessions.js';
import { clip } from '../../audit/audit.js';
import { newNonce, sendHtml, sendMessage } from '../pages.js';
import { peerOf } from '../peer.js';
import { refreshStaleGroups } from '../fresh-groups.js';
import type { Session } from '../session.js';
import type { CliApproval, CliFlow } from '../cli/approval.js';
import { createAuthorizationCodes } from '../cli/authorization-codes.js';
import { createDeviceCodes, USER_CODE_PATTERN } from '../cli/device-codes.js';
import { createRefreshGrants, type RefreshGrant } from '../cli/refresh-grants.js';
import { checkLoopbackRedirect, redirectWith } from '../cli/loopback-redirect.js';
import { CHALLENGE_PATTERN, VERIFIER_PATTERN } from '../cli/pkce.js';
import { chooseCliRoles, cliDuration, type RoleChoice } from '../cli/cli-roles.js';
import { consentPage, deviceEntryPage, doneCommandPage, refusedForCommandPage, type ConsentRole } from '../cli/consent-view.js';
import { grantUser } from '../cli/grant-user.js';

// /cli/: credentials for the command line (`pai-sso login`). The browser side (consent,
// device-code entry) needs a signed-in session like /sso/pai; the command side (token,
// device code, revoke) answers JSON in the OAuth 2.0 error shape (RFC 6749 §5.2) and is
// throttled per client address with the sign-in throttle. What the command receives is
// the signed SAML Response for one role in a response body (never a URL), with the role
// and provider ARNs; it calls STS itself. Every grant and refusal is an audit line; the
// code, the assertion and the refresh token never are.

export const CLI_CLIENT_ID = 'pai-sso-cli';
const NAME = '^[A-Za-z0-9._-]{1,64}$';
const STATE = '^[A-Za-z0-9._~-]{16,128}$';
const DURATION = { type: 'integer', minimum: 900, maximum: 43200 } as const;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const DEVICE_STARTS_PER_MINUTE = 10;

type DenyReason =
  | 'invalid-redirect-uri'
  | 'no-role'
  | 'role-not-granted'
  | 'role-console-only'
  | 'cross-site'
  | 'csrf'
  | 'no-session'
  | 'user-denied'
  | 'unknown-code'
  | 'wrong-verifier'
  | 'redirect-mismatch'
  | 'device-code-expired'
  | 'device-denied'
  | 'unknown-user-code'
  | 'unknown-grant'
  | 'refresh-reused'
  | 'session-ended'
  | 'user-gone'
  | 'sign-in-again';

interface AuthorizeQuery {
  response_type: 'code';
  client_id: string;
  redirect_uri: string;
  state: string;
  code_challenge: string;
  code_challenge_method: 'S256';
  role?: string;
  duration?: number;
}

interface ConsentBody {
  csrf: string;
  decision: 'allow' | 'deny';
  role?: string;
  redirect_uri?: string;
  state?: string;
  code_challenge?: string;
  duration?: number;
  user_code?: string;
}

interface TokenBody {
  grant_type: 'authorization_code' | 'refresh_token' | typeof DEVICE_GRANT;
  client_id?: string;
  code?: string;
  code_verifier?: string;
  redirect_uri?: string;
  refresh_token?: string;
  device_code?: string;
}

const consentBodySchema = (required: string[], extra: Record<string, unknown>) => ({
  type: 'object',
  required: ['csrf', 'decision', ...required],
  properties: {
    csrf: { type: 'string', minLength: 1, maxLength: 128 },
    decision: { type: 'string', enum: ['allow', 'deny'] },
    role: { type: 'string', pattern: NAME },
    ...extra,
  },
  additionalProperties: false,
});

export const cliRoutes: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  const { config } = deps;
  if (!config.cli.enabled) return;
  const absoluteMs = config.session.absoluteTimeoutSeconds * 1000;
  const records = createSessionRecords(deps.store, { absoluteTimeoutMs: absoluteMs, now: deps.now });
  const codes = createAuthorizationCodes(deps.store, config.cli.codeTtlSeconds);
  const devices = createDeviceCodes(deps.store, {
    ttlSeconds: config.cli.device.codeTtlSeconds,
    intervalSeconds: config.cli.device.intervalSeconds,
    now: deps.now,
  });
  const grants = createRefreshGrants(deps.store, deps.now);
  const base = config.server.baseUrl.replace(/\/+$/, '');
  const baseOrigin = new URL(base).origin;
  const metrics = {
    authorized: new Counter({
      name: 'pai_sso_cli_credentials_total',
      help: 'Signed responses handed to pai-sso login, by flow and grant',
      labelNames: ['flow', 'grant'],
      registers: [app.metrics.registry],
    }),
    denied: new Counter({
      name: 'pai_sso_cli_denied_total',
      help: 'Command-line credential requests refused, by reason',
      labelNames: ['reason'],
      registers: [app.metrics.registry],
    }),
  };

  const deny = (request: FastifyRequest, reason: DenyReason, flow: CliFlow | '-', user = '-', role?: string) => {
    deps.audit({
      event: 'credentials.denied',
      user: clip(user),
      reason,
      flow,
      ...(role !== undefined ? { role: clip(role, 64) } : {}),
      ip: request.ip,
      peer: peerOf(request),
      reqId: request.id,
    });
    metrics.denied.inc({ reason });
  };
  const oauthError = (reply: FastifyReply, status: number, error: string, description: string) =>
    reply.code(status).header('cache-control', 'no-store').header('pragma', 'no-cache').send({ error, error_description: description });
  const roleRefusalText = (reason: Exclude<RoleChoice, { ok: true }>['reason']) =>
    reason === 'role-console-only'
      ? 'That role is for the console only: the command line cannot get credentials for it.'
      : reason === 'no-role'
        ? 'Your account is not mapped to any Alibaba Cloud role.'
        : 'You are not allowed to use that role.';
  const roleRefusal = (reply: FastifyReply, choice: Exclude<RoleChoice, { ok: true }>) =>
    sendMessage(reply, 403, 'Role not available', roleRefusalText(choice.reason));
  const toLogin = (request: FastifyRequest, reply: FastifyReply) =>
    reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`, 302);
  /**
   * A form post another site made the browser send is refused before anything else (the
   * CSRF token would refuse it too). Our pages send no referrer, so Chromium sends
   * `Origin: null` for their own posts; Fetch Metadata still says same-origin.
   */
  const crossSite = (request: FastifyRequest): boolean => {
    const origin = request.headers.origin;
    const site = request.headers['sec-fetch-site'];
    return (
      (origin !== undefined && origin !== 'null' && origin !== baseOrigin) ||
      (site !== undefined && site !== 'same-origin' && site !== 'none')
    );
  };
  const consentRoles = (choice: Extract<RoleChoice, { ok: true }>, requested: number | undefined): ConsentRole[] =>
    choice.roles.map((r) => ({
      key: r.key,
      label: r.label,
      accountLabel: r.accountLabel,
      durationSeconds: cliDuration(config, r.key, requested),
    }));
  const approvalOf = (session: Session, roleKey: string, durationSeconds: number, flow: CliFlow): CliApproval => ({
    sid: session.sid,
    user: session.user,
    authTime: session.authTime,
    groupsAt: session.groupsAt ?? session.authTime,
    roleKey,
    durationSeconds,
    flow,
  });

  // JSON endpoints answer schema failures in the OAuth shape (with the usual audit line).
  const jsonErrors = (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    if (!error.validation) throw error;
    deps.audit({
      event: 'request.rejected',
      status: 400,
      reason: error.code,
      path: request.routeOptions.url ?? '',
      ip: request.ip,
      peer: peerOf(request),
      reqId: request.id,
    });
    void oauthError(reply, 400, 'invalid_request', error.message);
  };
  /** Per client address, with the sign-in throttle: a blocked address gets 429 before anything is read. True when it answered. */
  const throttled = async (request: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    const blocked = await app.loginThrottle.checkAddress(request.ip);
    if (!blocked) return false;
    app.loginThrottle.refused(request, blocked, '-');
    reply.header('retry-after', String(blocked.retryAfterSeconds));
    void oauthError(reply, 429, 'slow_down', 'Too many failed attempts from this address.');
    return true;
  };
  const failed = async (request: FastifyRequest) => {
    app.loginThrottle.locked(request, await app.loginThrottle.failedAddress(request.ip), '-');
  };

  // --- the browser: consent for the loopback flow ----------------------------------------

  app.get<{ Querystring: AuthorizeQuery }>(
    '/cli/authorize',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method'],
          properties: {
            response_type: { type: 'string', enum: ['code'] },
            client_id: { type: 'string', enum: [CLI_CLIENT_ID] },
            redirect_uri: { type: 'string', maxLength: 512 },
            state: { type: 'string', pattern: STATE },
            code_challenge: { type: 'string', pattern: CHALLENGE_PATTERN },
            code_challenge_method: { type: 'string', enum: ['S256'] },
            role: { type: 'string', pattern: NAME },
            duration: DURATION,
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const redirect = checkLoopbackRedirect(q.redirect_uri);
      if (!redirect.ok) {
        deny(request, 'invalid-redirect-uri', 'loopback', request.session?.user.username);
        return sendMessage(
          reply,
          400,
          'Not a command-line sign-in',
          'The address this request wants the answer sent to is not a loopback address with a port (http://127.0.0.1:PORT/ or http://[::1]:PORT/).',
        );
      }
      // A reply is thenable: awaiting one yields nothing, so whether it answered is read from reply.sent.
      await refreshStaleGroups(app, deps, request, reply);
      if (reply.sent) return reply;
      const session = request.session;
      if (!session) return toLogin(request, reply);
      const choice = chooseCliRoles(config, deps.mapRoles(session.user).roles, q.role);
      const nonce = newNonce();
      if (!choice.ok) {
        deny(request, choice.reason, 'loopback', session.user.username, q.role);
        const tell = redirectWith(redirect.url, { error: 'access_denied', error_description: choice.reason, state: q.state });
        return sendHtml(reply, 403, nonce, refusedForCommandPage(nonce, roleRefusalText(choice.reason), tell));
      }
      const hidden: Record<string, string> = { redirect_uri: q.redirect_uri, state: q.state, code_challenge: q.code_challenge };
      if (q.duration !== undefined) hidden['duration'] = String(q.duration);
      const page = consentPage(nonce, session.user, {
        action: '/cli/authorize',
        csrf: session.csrf,
        hidden,
        roles: consentRoles(choice, q.duration),
      });
      // form-action covers the redirect that follows the POST (Chrome applies it to redirects).
      return sendHtml(reply, 200, nonce, page, ["'self'", redirect.url.origin]);
    },
  );

  app.post<{ Body: ConsentBody }>(
    '/cli/authorize',
    {
      schema: {
        body: consentBodySchema(['redirect_uri', 'state', 'code_challenge'], {
          redirect_uri: { type: 'string', maxLength: 512 },
          state: { type: 'string', pattern: STATE },
          code_challenge: { type: 'string', pattern: CHALLENGE_PATTERN },
          duration: DURATION,
        }),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const session = request.session;
      const who = session?.user.username ?? '-';
      if (crossSite(request)) {
        deny(request, 'cross-site', 'loopback', who);
        return sendMessage(reply, 403, 'Request refused', 'This form can only be sent from the gateway’s own page.');
      }
      if (!session) {
        deny(request, 'no-session', 'loopback');
        return sendMessage(reply, 403, 'Sign in first', 'Your session has ended. Start again from your terminal: pai-sso login.');
      }
      if (!constantTimeEqual(b.csrf, session.csrf)) {
        deny(request, 'csrf', 'loopback', who);
        return sendMessage(reply, 403, 'Request refused', 'The form has expired. Start again from your terminal: pai-sso login.');
      }
      const redirect = checkLoopbackRedirect(b.redirect_uri ?? '');
      if (!redirect.ok) {
        deny(request, 'invalid-redirect-uri', 'loopback', who);
        return sendMessage(reply, 400, 'Not a command-line sign-in', 'The answer can only go to a loopback address with a port.');
      }
      const state = b.state ?? '';
      if (b.decision === 'deny') {
        deny(request, 'user-denied', 'loopback', who, b.role);
        return reply.redirect(redirectWith(redirect.url, { error: 'access_denied', state }), 303);
      }
      const choice = chooseCliRoles(config, deps.mapRoles(session.user).roles, b.role);
      const role = choice.ok && choice.roles.length === 1 ? choice.roles[0] : undefined;
      if (!role) {
        const reason = choice.ok ? 'role-not-granted' : choice.reason;
        deny(request, reason, 'loopback', who, b.role);
        return roleRefusal(reply, { ok: false, reason });
      }
      const approval = approvalOf(session, role.key, cliDuration(config, role.key, b.duration), 'loopback');
      const code = await codes.create({ approval, challenge: b.code_challenge ?? '', redirectUri: b.redirect_uri ?? '' });
      return reply.redirect(redirectWith(redirect.url, { code, state }), 303);
    },
  );

  // --- the command: token, revoke ------------------------------------------------------

  /** The signed Response for the approved role, a refresh token, the audit line. */
  const grantCredentials = async (
    request: FastifyRequest,
    reply: FastifyReply,
    approval: CliApproval,
    how: 'code' | 'device_code' | 'refresh',
    grant?: RefreshGrant,
  ) => {
    const who = approval.user.username;
    const refuse = async (reason: DenyReason, status: number, error: string, description: string) => {
      deny(request, reason, approval.flow, who, approval.roleKey);
      if (grant) await grants.revoke(grant.id);
      return oauthError(reply, status, error, description);
    };
    const check = await records.check(approval.sid, approval.user);
    if (!check.ok) return refuse('session-ended', 400, 'invalid_grant', 'The gateway session has ended: sign in again (pai-sso login).');
    let user = approval.user;
    let groupsAt = approval.groupsAt;
    if (how === 'refresh') {
      const current = await grantUser(deps, approval);
      if (!current.ok) return refuse(current.reason, 400, 'invalid_grant', 'Sign in again (pai-sso login).');
      user = current.user;
      groupsAt = current.groupsAt;
    }
    const choice = chooseCliRoles(config, deps.mapRoles(user).roles, approval.roleKey);
    const role = choice.ok ? choice.roles[0] : undefined;
    if (!role) {
      const reason = choice.ok ? 'role-not-granted' : choice.reason;
      return refuse(reason, 403, 'access_denied', 'The role is no longer available to you from the command line.');
    }
    const durationSeconds = cliDuration(config, role.key, approval.durationSeconds);
    const end = app.metrics.signSeconds.startTimer();
    const issued = deps.issue({
      ...assertionSubject(user, config.idp),
      // SessionDuration and SessionNotOnOrAfter follow the duration asked for: STS caps the token by them.
      roles: [{ ...role, sessionDuration: durationSeconds }],
      authnInstant: new Date(approval.authTime),
      sessionIndex: `_${approval.sid}`,
      now: new Date(deps.now()),
    });
    end();
    const next: CliApproval = { ...approval, user, groupsAt, durationSeconds };
    const expires = approval.authTime + absoluteMs;
    const refreshToken = grant ? await grants.rotate(grant, next) : (await grants.issue(next, expires)).token;
    deps.audit({
      event: 'credentials.authorized',
      user: who,
      userId: user.id,
      role: role.roleArn,
      roleKey: role.key,
      flow: approval.flow,
      grant: how,
      durationSeconds,
      assertionId: issued.assertionId,
      roleSessionName: issued.roleSessionName,
      ip: request.ip,
      peer: peerOf(request),
      reqId: request.id,
    });
    metrics.authorized.inc({ flow: approval.flow, grant: how });
    app.metrics.assertionsIssued.inc({ site: config.idp.site });
    return reply
      .code(200)
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .send({
        token_type: 'saml2_response',
        saml_response: issued.samlResponse,
        role: {
          key: role.key,
          label: role.label,
          account_label: role.accountLabel,
          role_arn: role.roleArn,
          provider_arn: role.providerArn,
        },
        duration_seconds: durationSeconds,
        role_session_name: issued.roleSessionName,
        refresh_token: refreshToken,
        refresh_expires_in: Math.max(0, Math.floor((expires - deps.now()) / 1000)),
        site: config.idp.site,
        ...(config.cli.stsEndpoint !== undefined ? { sts_endpoint: config.cli.stsEndpoint } : {}),
      });
  };

  app.post<{ Body: TokenBody }>(
    '/cli/token',
    {
      errorHandler: jsonErrors,
      schema: {
        body: {
          type: 'object',
          required: ['grant_type'],
          properties: {
            grant_type: { type: 'string', enum: ['authorization_code', 'refresh_token', DEVICE_GRANT] },
            client_id: { type: 'string', enum: [CLI_CLIENT_ID] },
            code: { type: 'string', minLength: 1, maxLength: 128 },
            code_verifier: { type: 'string', maxLength: 128 },
            redirect_uri: { type: 'string', maxLength: 512 },
            refresh_token: { type: 'string', minLength: 1, maxLength: 256 },
            device_code: { type: 'string', minLength: 1, maxLength: 128 },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      if (await throttled(request, reply)) return reply;
      const b = request.body;
      if (b.grant_type === 'authorization_code') {
        if (b.code === undefined || b.code_verifier === undefined || b.redirect_uri === undefined) {
          return oauthError(reply, 400, 'invalid_request', 'code, code_verifier and redirect_uri are required.');
        }
        if (!new RegExp(VERIFIER_PATTERN).test(b.code_verifier)) {
          return oauthError(reply, 400, 'invalid_request', 'code_verifier must be 43-128 unreserved characters.');
        }
        const redeemed = await codes.redeem(b.code, b.code_verifier, b.redirect_uri);
        if (!redeemed.ok) {
          deny(request, redeemed.reason, 'loopback');
          await failed(request);
          return oauthError(reply, 400, 'invalid_grant', 'The code is unknown, used, expired or not bound to this verifier.');
        }
        return grantCredentials(request, reply, redeemed.approval, 'code');
      }
      if (b.grant_type === 'refresh_token') {
        if (b.refresh_token === undefined) return oauthError(reply, 400, 'invalid_request', 'refresh_token is required.');
        const used = await grants.use(b.refresh_token);
        if (!used.ok) {
          deny(request, used.reason, '-');
          await failed(request);
          return oauthError(reply, 400, 'invalid_grant', 'The refresh token is unknown, used or expired: sign in again (pai-sso login).');
        }
        return grantCredentials(request, reply, used.grant.approval, 'refresh', used.grant);
      }
      if (b.device_code === undefined) return oauthError(reply, 400, 'invalid_request', 'device_code is required.');
      const polled = await devices.poll(b.device_code);
      switch (polled.status) {
        case 'slow_down':
          return oauthError(reply, 400, 'slow_down', `Poll at most every ${config.cli.device.intervalSeconds} s; wait 5 s more.`);
        case 'pending':
          return oauthError(reply, 400, 'authorization_pending', 'The code has not been approved yet.');
        case 'expired':
          deny(request, 'device-code-expired', 'device');
          await failed(request);
          return oauthError(reply, 400, 'expired_token', 'The device code has expired: run pai-sso login --device again.');
        case 'denied':
          deny(request, 'device-denied', 'device');
          return oauthError(reply, 400, 'access_denied', 'The request was denied in the browser.');
        case 'approved':
          return grantCredentials(request, reply, polled.approval, 'device_code');
      }
    },
  );

  app.post<{ Body: { token: string; client_id?: string } }>(
    '/cli/revoke',
    {
      errorHandler: jsonErrors,
      schema: {
        body: {
          type: 'object',
          required: ['token'],
          properties: { token: { type: 'string', minLength: 1, maxLength: 256 }, client_id: { type: 'string', enum: [CLI_CLIENT_ID] } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      // RFC 7009 §2.2: the same answer whether or not the token was known.
      await grants.revoke(request.body.token);
      return reply.code(200).header('cache-control', 'no-store').send({});
    },
  );

  // --- the device flow -----------------------------------------------------------------

  if (!config.cli.device.enabled) return;

  app.post<{ Body: { client_id?: string; role?: string; duration?: number } }>(
    '/cli/device/code',
    {
      errorHandler: jsonErrors,
      schema: {
        body: {
          type: 'object',
          properties: {
            client_id: { type: 'string', enum: [CLI_CLIENT_ID] },
            role: { type: 'string', pattern: NAME },
            duration: DURATION,
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      if (await throttled(request, reply)) return reply;
      if ((await deps.store.incr(`cli-device-start:${request.ip}`, 60_000)) > DEVICE_STARTS_PER_MINUTE) {
        reply.header('retry-after', '60');
        return oauthError(reply, 429, 'slow_down', 'Too many device codes from this address: wait a minute.');
      }
      const { role, duration } = request.body;
      const started = await devices.start({ ...(role !== undefined ? { roleKey: role } : {}), durationSeconds: duration ?? 3600 });
      const verification = `${base}/cli/device`;
      return reply
        .code(200)
        .header('cache-control', 'no-store')
        .send({
          device_code: started.deviceCode,
          user_code: started.userCode,
          verification_uri: verification,
          verification_uri_complete: `${verification}?user_code=${started.userCode}`,
          expires_in: started.expiresIn,
          interval: started.interval,
        });
    },
  );

  app.get<{ Querystring: { user_code?: string } }>(
    '/cli/device',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { user_code: { type: 'string', maxLength: 16 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      // A reply is thenable: awaiting one yields nothing, so whether it answered is read from reply.sent.
      await refreshStaleGroups(app, deps, request, reply);
      if (reply.sent) return reply;
      const session = request.session;
      if (!session) return toLogin(request, reply);
      const nonce = newNonce();
      const userCode = request.query.user_code;
      if (userCode === undefined || userCode === '') return sendHtml(reply, 200, nonce, deviceEntryPage(nonce, session.user));
      const limited = await app.loginThrottle.checkAddress(request.ip);
      if (limited) {
        app.loginThrottle.refused(request, limited, session.user.username);
        reply.header('retry-after', String(limited.retryAfterSeconds));
        return sendMessage(reply, 429, 'Too many attempts', 'Too many wrong codes from this address. Try again later.');
      }
      const pending = new RegExp(USER_CODE_PATTERN).test(userCode) ? await devices.pending(userCode) : undefined;
      if (!pending) {
        deny(request, 'unknown-user-code', 'device', session.user.username);
        await failed(request);
        return sendHtml(
          reply,
          400,
          nonce,
          deviceEntryPage(nonce, session.user, 'That code is unknown or has expired. Check your terminal.'),
        );
      }
      const choice = chooseCliRoles(config, deps.mapRoles(session.user).roles, pending.roleKey);
      if (!choice.ok) {
        deny(request, choice.reason, 'device', session.user.username, pending.roleKey);
        return roleRefusal(reply, choice);
      }
      const page = consentPage(nonce, session.user, {
        action: '/cli/device',
        csrf: session.csrf,
        hidden: { user_code: pending.userCode },
        roles: consentRoles(choice, pending.durationSeconds),
        userCode: pending.userCode,
      });
      return sendHtml(reply, 200, nonce, page);
    },
  );

  app.post<{ Body: ConsentBody }>(
    '/cli/device',
    { schema: { body: consentBodySchema(['user_code'], { user_code: { type: 'string', pattern: USER_CODE_PATTERN } }) } },
    async (request, reply) => {
      const b = request.body;
      const session = request.session;
      const who = session?.user.username ?? '-';
      if (crossSite(request)) {
        deny(request, 'cross-site', 'device', who);
        return sendMessage(reply, 403, 'Request refused', 'This form can only be sent from the gateway’s own page.');
      }
      if (!session) {
        deny(request, 'no-session', 'device');
        return sendMessage(reply, 403, 'Sign in first', 'Your session has ended. Sign in and enter the code again.');
      }
      if (!constantTimeEqual(b.csrf, session.csrf)) {
        deny(request, 'csrf', 'device', who);
        return sendMessage(reply, 403, 'Request refused', 'The form has expired. Enter the code again.');
      }
      const userCode = b.user_code ?? '';
      const pending = await devices.pending(userCode);
      const nonce = newNonce();
      if (!pending) {
        deny(request, 'unknown-user-code', 'device', who);
        return sendHtml(
          reply,
          400,
          nonce,
          deviceEntryPage(nonce, session.user, 'That code is unknown or has expired. Check your terminal.'),
        );
      }
      if (b.decision === 'deny') {
        await devices.decide(userCode, 'deny');
        deny(request, 'user-denied', 'device', who, b.role);
        return sendHtml(reply, 200, nonce, doneCommandPage(nonce, false));
      }
      const choice = chooseCliRoles(config, deps.mapRoles(session.user).roles, b.role ?? pending.roleKey);
      const role = choice.ok && choice.roles.length === 1 ? choice.roles[0] : undefined;
      if (!role) {
        const reason = choice.ok ? 'role-not-granted' : choice.reason;
        deny(request, reason, 'device', who, b.role);
        return roleRefusal(reply, { ok: false, reason });
      }
      const approval = approvalOf(session, role.key, cliDuration(config, role.key, pending.durationSeconds), 'device');
      if (!(await devices.decide(userCode, { approval }))) {
        deny(request, 'unknown-user-code', 'device', who);
        return sendHtml(
          reply,
          400,
          nonce,
          deviceEntryPage(nonce, session.user, 'That code has just expired or was used. Check your terminal.'),
        );
      }
      return sendHtml(reply, 200, nonce, doneCommandPage(nonce, true));
    },
  );
};
