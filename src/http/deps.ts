import type { Config } from '../config/schema.js';
import type { IdentitySources } from '../identity/sources.js';
import type { RoleMapper } from '../mapping/roles.js';
import type { Issuer } from '../saml/issue.js';
import type { SiteFacts } from '../alibaba.js';
import type { Audit } from '../audit/audit.js';
import type { User } from '../identity/user.js';
import type { LoginCompletion } from '../identity/source.js';
import type { StateStore } from '../state/store.js';

/** What the routes need, built once by buildServer. */
export interface GatewayDeps {
  readonly config: Config;
  /** Shared state: session records, revocations, throttle counters, the replay cache (memory, or Redis/Valkey shared by replicas). */
  readonly store: StateStore;
  readonly site: SiteFacts;
  readonly sources: IdentitySources;
  readonly mapRoles: RoleMapper;
  readonly issue: Issuer;
  readonly audit: Audit;
  readonly metadataXml: string;
  /** For /readyz: can the key still sign? */
  readonly checkSigner: () => { ok: boolean; reason?: string };
  readonly now: () => number;
  readonly completion: LoginCompletion;
  /** The user as the session stores them: only groups some mapping mentions. */
  readonly slimUser: (user: User) => User;
  /** server.adminTokenEnv's token: with it, /readyz on the main port shows its reasons. */
  readonly adminToken?: string | undefined;
}
