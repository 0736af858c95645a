import type { GatewayDeps } from '../deps.js';
import type { User } from '../../identity/user.js';
import type { LocalSource } from '../../identity/local.js';
import type { CliApproval } from './approval.js';

// The user behind a refresh, as the directory knows them now. The same freshness rule
// as /sso/pai (src/http/fresh-groups.ts), without a browser to send anywhere:
// - local users are re-read from the users file on every refresh (removal counts at once);
// - groups older than session.groupsMaxAgeSeconds are read again from a source that can
//   (LDAP, local); a source that cannot (OIDC, upstream SAML, header) needs a new sign-in;
// - a directory that cannot be reached throws (the route answers 503, never old groups).

export type GrantUser =
  | { readonly ok: true; readonly user: User; readonly groupsAt: number }
  | { readonly ok: false; readonly reason: 'user-gone' | 'sign-in-again' };

export async function grantUser(deps: GatewayDeps, approval: CliApproval): Promise<GrantUser> {
  const { user } = approval;
  const t = deps.now();
  if (user.source === 'local') {
    const local = deps.sources.all.find((s): s is LocalSource => s.kind === 'local' && 'current' in s);
    const current = local?.current(user);
    if (!current || current.id !== user.id) return { ok: false, reason: 'user-gone' };
    return { ok: true, user: deps.slimUser(current), groupsAt: t };
  }
  if (t - approval.groupsAt <= deps.config.session.groupsMaxAgeSeconds * 1000) return { ok: true, user, groupsAt: approval.groupsAt };
  const source = deps.sources.password.find((s) => s.kind === user.source);
  if (!source?.refresh) return { ok: false, reason: 'sign-in-again' };
  const fresh = await source.refresh(user);
  if (!fresh || fresh.id !== user.id) return { ok: false, reason: 'user-gone' };
  return { ok: true, user: deps.slimUser(fresh), groupsAt: t };
}
