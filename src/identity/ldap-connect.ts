import { Client, ResultCodeError, type Entry } from 'ldapts';
import { LdapSourceError } from './errors.js';
import type { LdapSettings } from './ldap-settings.js';

/** Result codes a user's own bind can earn: wrong password, locked or expired account. */
const REFUSED_BIND_CODES = new Set([
  49, // invalidCredentials (AD adds the reason as data 52e/530/532/533/701/773/775)
  19, // constraintViolation: ppolicy lockout
  50, // insufficientAccessRights: account not allowed to bind
  53, // unwillingToPerform: e.g. a disabled account on some servers
]);

/** Failures a login cannot fix: the caller answers 503 and /readyz says why. */
function unavailable(settings: LdapSettings, what: string, err: unknown): LdapSourceError {
  let detail: string;
  if (err instanceof ResultCodeError) detail = `${err.name} (${err.code})${err.message ? `: ${err.message}` : ''}`;
  else {
    // A socket error (errno code), or whatever else ldapts threw: not necessarily an Error.
    const e = err as { code?: string; message?: string };
    detail = e.code ?? e.message ?? String(err);
  }
  return new LdapSourceError('PAI_SSO_LDAP_UNAVAILABLE', `LDAP ${settings.url}: ${what} failed: ${detail}`, { cause: err });
}

export async function closeClient(client: Client): Promise<void> {
  await client.unbind().catch(() => {});
}

/**
 * The directory as the source uses it. One short-lived connection per step; nothing is
 * pooled or cached, so a restarted or failed-over directory needs nothing from us.
 */
export interface LdapDirectory {
  /** A client bound as the service account (anonymous without bindDN); the caller closes it. */
  serviceClient(timeoutMs?: number): Promise<Client>;
  /** true: the password is right; false: the directory refused it. Throws when the directory is down. */
  checkPassword(dn: string, password: string): Promise<boolean>;
  search(client: Client, base: string, filter: string, attributes: string[], what: string, sizeLimit?: number): Promise<Entry[]>;
}

export function ldapDirectory(s: LdapSettings): LdapDirectory {
  // objectGUID is 16 raw bytes; decoded as UTF-8 it would be mangled, and no longer stable.
  const binaryAttributes = s.idAttribute.toLowerCase() === 'objectguid' ? [s.idAttribute] : [];

  const connect = async (what: string, timeoutMs = s.timeoutMs): Promise<Client> => {
    // tlsOptions on the client would make ldapts speak TLS from the first byte: only for ldaps://.
    const client = new Client({
      url: s.url,
      timeout: timeoutMs,
      connectTimeout: timeoutMs,
      ...(s.secure ? { tlsOptions: { ...s.tls } } : {}),
    });
    if (s.startTLS) {
      try {
        // A fresh object: ldapts writes the plain socket into it.
        await client.startTLS({ ...s.tls });
      } catch (err) {
        await closeClient(client);
        throw unavailable(s, `${what}: StartTLS`, err);
      }
    }
    return client;
  };

  return {
    async serviceClient(timeoutMs) {
      const client = await connect('service bind', timeoutMs);
      try {
        if (s.bindDN !== undefined) await client.bind(s.bindDN, s.bindPassword);
      } catch (err) {
        await closeClient(client);
        throw unavailable(s, `service bind as ${s.bindDN}`, err);
      }
      return client;
    },

    async checkPassword(dn, password) {
      const client = await connect('user bind');
      try {
        await client.bind(dn, password);
        return true;
      } catch (err) {
        if (err instanceof ResultCodeError && REFUSED_BIND_CODES.has(err.code)) return false;
        throw unavailable(s, 'user bind', err);
      } finally {
        await closeClient(client);
      }
    },

    async search(client, base, filter, attributes, what, sizeLimit = 0) {
      try {
        const { searchEntries } = await client.search(base, {
          scope: 'sub',
          filter,
          attributes,
          sizeLimit,
          timeLimit: Math.ceil(s.timeoutMs / 1000),
          explicitBufferAttributes: binaryAttributes,
        });
        return searchEntries;
      } catch (err) {
        throw unavailable(s, what, err);
      }
    },
  };
}
