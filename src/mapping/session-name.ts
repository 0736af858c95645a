import { createHash } from 'node:crypto';
import { ROLE_SESSION_NAME_PATTERN } from '../saml/alibaba.js';

const MAX = 32;
const HASH_LEN = 8;

/**
 * RoleSessionName shows in the console and ActionTrail, so it should read like the
 * person, but Alibaba allows only [A-Za-z0-9._@=-]{2,32}. When the value has to be
 * changed to fit, a hash of the original is appended: two people whose names
 * sanitise to the same string ("zhang.san" and "zhang san") still get distinct names.
 */
export function roleSessionName(value: string): string {
  if (ROLE_SESSION_NAME_PATTERN.test(value)) return value;
  const hash = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, HASH_LEN);
  const cleaned = value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._@=-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX - HASH_LEN - 1)
    .replace(/-+$/, '');
  return cleaned ? `${cleaned}-${hash}` : `u-${hash}`;
}
