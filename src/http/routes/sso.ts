import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayDeps } from '../deps.js';
import { groupsFor, type GrantedRole } from '../../mapping/roles.js';
import { assertionSubject } from '../../mapping/subject.js';
import { autoPostPage, landingPage, rolePickerPage } from '../views.js';
import { newNonce, sendHtml, sendMessage } from '../pages.js';
import { peerOf } from '../peer.js';
import { refreshStaleGroups } from '../fresh-groups.js';

const NAME = '^[A-Za-z0-9._-]{1,64}$';

const ssoHref = (target: string, role?: string) =>
  `/sso/pai?target=${encodeURIComponent(target)}${role ? `&role=${encodeURIComponent(role)}` : ''}`;

export const ssoRoutes: FastifyPluginAsync<GatewayDeps> = async (app, deps) => {
  const { config, site } = deps;
  const defaultTarget = config.defaultTarget ?? Object.keys(config.targets)[0] ?? '';
  // The ACS, plus the site's own domain: Chrome applies form-action to the redirects
  // that follow the POST, and Alibaba redirects into the console from the ACS.
  const handoffFormAction = [new URL(site.acs).origin, `https://*.${site.domain}`];

  const toLogin = (request: FastifyRequest, reply: FastifyReply) =>
    reply.redirect(`/login?returnTo=${encodeURIComponent(request.url)}`, 302);

  app.get<{ Querystring: { target?: string; role?: string } }>(
    '/sso/pai',
    {
      // The audit line is this route's access log: one line per login, not three.
      logLevel: 'warn',
      schema: {
        querystring: {
          type: 'object',
          properties: { target: { type: 'string', pattern: NAME }, role: { type: 'string', pattern: NAME } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      if (await refreshStaleGroups(app, deps, request, reply)) return reply;
      const nonce = newNonce();
      const targetName = request.query.target ?? defaultTarget;
      const target = Object.hasOwn(config.targets, targetName) ? config.targets[targetName] : undefined;
      const session = request.session;
      const who = session?.user.username ?? '-';
      if (!target) {
        deps.audit({
          event: 'assertion.denied',
          reason: 'unknown-target',
          user: who,
          target: targetName,
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        app.metrics.assertionsDenied.inc({ reason: 'unknown-target' });
        return sendMessage(reply, 404, 'Unknown destination', `There is no launch target named “${targetName}”.`);
      }
      if (!session) return toLogin(request, reply);

      const grant = deps.mapRoles(session.user);
      if (grant.roles.length === 0) {
        deps.audit({
          event: 'assertion.denied',
          reason: 'no-role',
          user: who,
          target: targetName,
          ip: request.ip,
          peer: peerOf(request),
          reqId: request.id,
        });
        app.metrics.assertionsDenied.inc({ reason: 'no-role' });
        return sendMessage(
          reply,
          403,
          'No Alibaba Cloud role',
          'Your account is not mapped to any Alibaba Cloud role, so PAI cannot be opened. Ask your administrator to map one of your groups to a role.',
        );
      }

      let roles: readonly GrantedRole[];
      if (config.idp.roleSelection === 'alibaba' || grant.roles.length === 1) {
        roles = grant.roles;
      } else if (request.query.role !== undefined) {
        const chosen = grant.roles.find((r) => r.key === request.query.role);
        if (!chosen) {
          deps.audit({
            event: 'assertion.denied',
            reason: 'role-not-granted',
            user: who,
            target: targetName,
            role: request.query.role,
            ip: request.ip,
            peer: peerOf(request),
            reqId: request.id,
          });
          app.metrics.assertionsDenied.inc({ reason: 'role-not-granted' });
          return sendMessage(reply, 403, 'Role not available', 'You are not allowed to use that role.');
        }
        roles = [chosen];
      } else {
        const choices = grant.roles.map((r) => ({ label: r.label, accountLabel: r.accountLabel, href: ssoHref(targetName, r.key) }));
        return sendHtml(reply, 200, nonce, rolePickerPage(nonce, session.user, session.csrf, target.label ?? targetName, choices));
      }

      // A role with requireMfa (or identity.mfa: required) and a session without a second factor: step up first.
      const stepUp = app.mfa.guard(
        request,
        reply,
        session,
        roles.map((r) => r.key),
      );
      if (stepUp) return stepUp;
      const authnContext = app.mfa.classRef(session);
      const end = app.metrics.signSeconds.startTimer();
      const issued = deps.issue({
        ...assertionSubject(session.user, config.idp),
        roles,
        authnInstant: new Date(session.authTime),
        sessionIndex: `_${session.sid}`,
        now: new Date(deps.now()),
        authnContextClassRef: authnContext,
      });
      end();
      deps.audit({
        event: 'assertion.issued',
        user: session.user.username,
        userId: session.user.id,
        groups: groupsFor(grant, roles),
        roles: roles.map((r) => r.roleArn),
        target: targetName,
        assertionId: issued.assertionId,
        roleSessionName: issued.roleSessionName,
        authnContext,
        ip: request.ip,
        peer: peerOf(request),
        reqId: request.id,
      });
      app.metrics.assertionsIssued.inc({ site: config.idp.site });
      return sendHtml(reply, 200, nonce, autoPostPage(nonce, site.acs, issued.samlResponse, target.url), handoffFormAction);
    },
  );

  app.get('/', { schema: { querystring: { type: 'object', additionalProperties: false } } }, async (request, reply) => {
    const session = request.session;
    if (!session) return reply.redirect('/login?returnTo=%2F', 302);
    const nonce = newNonce();
    const targets = Object.entries(config.targets).map(([name, t]) => ({ label: t.label ?? name, href: ssoHref(name) }));
    const hasRoles = deps.mapRoles(session.user).roles.length > 0;
    return sendHtml(reply, 200, nonce, landingPage(nonce, session.user, session.csrf, targets, hasRoles));
  });
};
