import { createHash } from 'node:crypto';
import { TAG_VALUE_MAX } from '../alibaba.js';

// How register marks what it created, so that it touches only its own resources and can
// find them again once the config stops naming them (docs/register.md, "Ownership"):
// - roles and the custom policy carry the RAM tag `pai-sso:managed=<gateway>`;
// - a role's workspace memberships are recorded as tags `pai-sso:workspace/<id>@<region>`
//   on the role, written before the membership is created, so a role that leaves the
//   config can still be taken out of its workspaces;
// - the SAML provider (IMS has no tags) carries `[pai-sso:managed=<gateway>]` at the end
//   of its description.
// <gateway> is the gateway's SAML entity ID without its scheme: Alibaba Cloud tag values
// must not contain "http://" or "https://".

export const MANAGED_TAG = 'pai-sso:managed';
export const WORKSPACE_TAG_PREFIX = 'pai-sso:workspace/';
export const OWN_TAG_PREFIX = 'pai-sso:';
export const WORKSPACE_TAG_VALUE = 'member';

/** The marker value naming this gateway, from its entity ID. */
export function managedValue(entityId: string): string {
  const v = entityId.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/https?:\/\//gi, '');
  if (v.length <= TAG_VALUE_MAX) return v;
  const hash = createHash('sha256').update(entityId).digest('hex').slice(0, 16);
  return `${v.slice(0, TAG_VALUE_MAX - hash.length - 1)}#${hash}`;
}

const DESCRIPTION_MARKER = /\s*\[pai-sso:managed=([^\]]*)\]\s*$/;

/** The provider description with the marker appended. */
export function describeWithMarker(description: string, value: string): string {
  return `${description.replace(DESCRIPTION_MARKER, '')} [${MANAGED_TAG}=${value}]`;
}

/** The marker value in a provider's description, or undefined when it has none. */
export function markerInDescription(description: string | undefined): string | undefined {
  return DESCRIPTION_MARKER.exec(description ?? '')?.[1];
}

export const workspaceTagKey = (id: string, region: string): string => `${WORKSPACE_TAG_PREFIX}${id}@${region}`;

export function parseWorkspaceTag(key: string): { id: string; region: string } | undefined {
  if (!key.startsWith(WORKSPACE_TAG_PREFIX)) return undefined;
  const m = /^([^@]+)@(.+)$/.exec(key.slice(WORKSPACE_TAG_PREFIX.length));
  return m ? { id: m[1] ?? '', region: m[2] ?? '' } : undefined;
}

/**
 * Whose a resource is: `ours` carries this gateway's marker, `unmarked` carries none (made by
 * hand, by another tool, or by a register older than the marker), `other` names another
 * gateway.
 */
export type Ownership = { readonly kind: 'ours' } | { readonly kind: 'unmarked' } | { readonly kind: 'other'; readonly value: string };

export function ownership(marker: string | undefined, ours: string): Ownership {
  if (marker === undefined) return { kind: 'unmarked' };
  return marker === ours ? { kind: 'ours' } : { kind: 'other', value: marker };
}
