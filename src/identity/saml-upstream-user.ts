import type { Profile } from '@node-saml/node-saml';
import { ENTRA_GROUPS_CLAIM, type SamlIdentityConfig } from '../config/identity-saml-schema.js';
import type { User } from './user.js';

const MAX_GROUPS = 2000;

const looksLikeGuid = (g: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(g);
const looksLikeSid = (g: string) => /^S-1-\d+(-\d+)+$/i.test(g);
// Identifiers end up in cookies, logs and RoleSessionName: printable, bounded.
const cleanValue = (v: string) => (/^[^\u0000-\u001f\u007f]{1,256}$/.test(v) ? v.trim() : undefined);

function strings(v: unknown): string[] {
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is string => typeof x === 'string');
}

type UserConfig = Pick<SamlIdentityConfig, 'idFrom' | 'usernameFrom' | 'nameAttribute' | 'emailAttribute' | 'groupsAttribute'>;

/** The common User shape from a verified assertion, or undefined without a usable id and username. */
export function samlUser(cfg: UserConfig, profile: Profile): User | undefined {
  const attributes = (profile['attributes'] ?? {}) as Record<string, unknown>;
  const one = (from: string): string | undefined => {
    const raw = from === 'nameID' ? profile.nameID : strings(attributes[from])[0];
    return typeof raw === 'string' ? cleanValue(raw) : undefined;
  };
  const id = one(cfg.idFrom);
  const username = one(cfg.usernameFrom);
  if (!id || !username) return undefined;
  const groups = [
    ...new Set(
      strings(attributes[cfg.groupsAttribute])
        .map(cleanValue)
        .filter((g): g is string => !!g),
    ),
  ].slice(0, MAX_GROUPS);
  return {
    id,
    username,
    displayName: one(cfg.nameAttribute) ?? username,
    email: one(cfg.emailAttribute),
    groups,
    source: 'saml',
  };
}

/** Entra ID sends group object IDs and ADFS SIDs in its groups claim: a mapping on a name would never match. */
export function samlMappingGroupHint(groupsAttribute: string, group: string): string | undefined {
  if (groupsAttribute !== ENTRA_GROUPS_CLAIM || looksLikeGuid(group) || looksLikeSid(group)) return undefined;
  return `identity.saml sends ${ENTRA_GROUPS_CLAIM}, which Entra ID fills with group object IDs (GUIDs) and ADFS with SIDs; "${group}" looks like a name`;
}
