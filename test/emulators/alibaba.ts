import { createHash, createHmac, randomInt, timingSafeEqual, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DOMParser } from '@xmldom/xmldom';

// A local stand-in for IMS 2019-08-15, RAM 2015-05-01 and AIWorkspace 2021-02-04, good
// enough for the real SDKs to talk to: it recomputes the ACS3-HMAC-SHA256 signature from
// the raw request, enforces the documented names, lengths and documents, keeps state, and
// answers with the cloud's error shapes. Tests inject failures and throttling per action.

export interface EmulatorCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly accountId: string;
  readonly securityToken?: string;
}

export interface InjectedError {
  readonly status: number;
  readonly code: string;
  readonly message?: string;
}

export interface CallRecord {
  readonly action: string;
  readonly status: number;
  readonly accountId: string | undefined;
}

interface Provider {
  name: string;
  doc: string;
  description: string;
  algo: string;
  created: string;
  updated: string;
}
interface Role {
  id: string;
  name: string;
  trust: string;
  max: number;
  description: string;
  created: string;
  updated: string;
}
interface PolicyVersion {
  id: string;
  doc: string;
  created: string;
}
interface Policy {
  name: string;
  type: 'Custom' | 'System';
  description: string;
  versions: PolicyVersion[];
  defaultVersion: string;
  nextVersion: number;
  created: string;
}
interface Member {
  memberId: string;
  userId: string;
  roles: string[];
}
interface Workspace {
  id: string;
  region: string;
  members: Map<string, Member>;
}

export interface AccountState {
  readonly providers: Map<string, Provider>;
  readonly roles: Map<string, Role>;
  readonly policies: Map<string, Policy>;
  /** roleName -> "Type/Name" keys. */
  readonly attachments: Map<string, Set<string>>;
  readonly workspaces: Map<string, Workspace>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const SYSTEM_POLICIES = ['AliyunPAIFullAccess', 'AliyunPAIReadOnlyAccess', 'AliyunOSSReadOnlyAccess', 'AliyunRAMReadOnlyAccess'];
const PAI_ROLES = new Set(['PAI.AlgoDeveloper', 'PAI.AlgoOperator', 'PAI.LabelManager', 'PAI.MaxComputeDeveloper', 'PAI.WorkspaceAdmin', 'PAI.WorkspaceGuest']);
const SAML_PROVIDER_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const ROLE_NAME = /^[A-Za-z0-9.-]+$/;
const POLICY_NAME = /^[A-Za-z0-9-]+$/;
const MAX_TRUST_POLICY = 4096; // UNCONFIRMED limit; large enough for any document register writes
const MAX_POLICY_DOCUMENT = 6144;
const MAX_POLICY_VERSIONS = 5;
const MAX_METADATA_CERTS = 2;

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const requestId = () => `${randomInt(0x10000000, 0x7fffffff).toString(16).toUpperCase()}-EMU`;

/** The SDK's encoding (RFC 3986: encodeURIComponent plus !'()*). */
function encode(s: string): string {
  return encodeURIComponent(s).replace(/!/g, '%21').replace(/'/g, '%27').replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/\*/g, '%2A');
}

function parseQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    return [decodeURIComponent(k.replace(/\+/g, ' ')), decodeURIComponent(v.replace(/\+/g, ' '))];
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function lengthCheck(value: string | undefined, field: string, min: number, max: number): void {
  if (value === undefined) return;
  if (value.length < min || value.length > max) throw new ApiError(400, `InvalidParameter.${field}.Length`, `The parameter ${field} is beyond the length limit (${min}-${max}).`);
}

function required(p: Record<string, string>, name: string): string {
  const v = p[name];
  if (v === undefined || v === '') throw new ApiError(400, `MissingParameter.${name}`, `The parameter ${name} is required.`);
  return v;
}

function parsePolicyDocument(doc: string, field: string, max: number): { Statement: Array<Record<string, unknown>> } {
  lengthCheck(doc, field, 1, max);
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    throw new ApiError(400, 'MalformedPolicyDocument', `The policy document is not valid JSON.`);
  }
  const p = parsed as { Version?: unknown; Statement?: unknown };
  if (!p || typeof p !== 'object' || p.Version !== '1' || !Array.isArray(p.Statement) || p.Statement.length === 0) {
    throw new ApiError(400, 'MalformedPolicyDocument', 'The policy document needs Version "1" and a Statement list.');
  }
  for (const st of p.Statement as Array<Record<string, unknown>>) {
    if (!st || typeof st !== 'object' || (st['Effect'] !== 'Allow' && st['Effect'] !== 'Deny') || st['Action'] === undefined) {
      throw new ApiError(400, 'MalformedPolicyDocument', 'Each statement needs Effect Allow|Deny and an Action.');
    }
  }
  return p as { Statement: Array<Record<string, unknown>> };
}

function checkTrustPolicy(doc: string, field: string): void {
  const p = parsePolicyDocument(doc, field, MAX_TRUST_POLICY);
  for (const st of p.Statement) {
    const principal = st['Principal'];
    if (!principal || typeof principal !== 'object') throw new ApiError(400, 'MalformedPolicyDocument', 'A trust policy statement needs a Principal.');
    const fed = (principal as Record<string, unknown>)['Federated'];
    if (fed === undefined) continue;
    const cond = (st['Condition'] ?? {}) as Record<string, Record<string, unknown>>;
    const keys = Object.values(cond).flatMap((kv) => Object.keys(kv ?? {}));
    // spec §8: saml:recipient is the only supported key for SAML principals, and it is required.
    if (!keys.includes('saml:recipient') || keys.some((k) => k !== 'saml:recipient')) {
      throw new ApiError(400, 'MalformedPolicyDocument', 'A Federated statement must have the condition saml:recipient and no other key.');
    }
  }
}

function checkMetadata(b64: string): void {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || Buffer.from(b64, 'base64').toString('base64') !== b64) {
    throw new ApiError(400, 'InvalidParameter.EncodedSAMLMetadataDocument.Base64', 'EncodedSAMLMetadataDocument is not valid base64.');
  }
  const xml = Buffer.from(b64, 'base64').toString('utf8');
  const invalid = (why: string) => new ApiError(400, 'InvalidParameter.EncodedSAMLMetadataDocument.Invalid', `The SAML metadata is invalid: ${why}.`);
  let errors = 0;
  const doc = new DOMParser({ errorHandler: { error: () => errors++, fatalError: () => errors++, warning: () => {} } }).parseFromString(xml, 'text/xml');
  const root = doc.documentElement;
  if (errors || !root) throw invalid('not well-formed XML');
  const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
  if (root.namespaceURI !== MD || root.localName !== 'EntityDescriptor') throw invalid('the root must be one md:EntityDescriptor');
  if (!root.getAttribute('entityID')) throw invalid('entityID is missing');
  const idp = root.getElementsByTagNameNS(MD, 'IDPSSODescriptor');
  if (idp.length !== 1) throw invalid('exactly one IDPSSODescriptor is required');
  const certs: string[] = [];
  const kds = root.getElementsByTagNameNS(MD, 'KeyDescriptor');
  for (let i = 0; i < kds.length; i++) {
    const kd = kds.item(i)!;
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    const x = kd.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate');
    for (let j = 0; j < x.length; j++) certs.push((x.item(j)!.textContent ?? '').replace(/\s+/g, ''));
  }
  if (certs.length === 0) throw invalid('no signing certificate');
  if (certs.length > MAX_METADATA_CERTS) throw invalid(`at most ${MAX_METADATA_CERTS} signing certificates are allowed`);
  for (const c of certs) {
    try {
      new X509Certificate(Buffer.from(c, 'base64'));
    } catch {
      throw invalid('a signing certificate cannot be parsed');
    }
  }
}

export class AlibabaEmulator {
  readonly accounts = new Map<string, AccountState>();
  readonly calls: CallRecord[] = [];
  readonly #creds = new Map<string, EmulatorCredential>();
  readonly #injected = new Map<string, InjectedError[]>();
  readonly #nonces = new Set<string>();
  #server: Server | undefined;
  port = 0;

  constructor(credentials: readonly EmulatorCredential[]) {
    for (const c of credentials) {
      this.#creds.set(c.accessKeyId, c);
      this.account(c.accountId);
    }
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  account(accountId: string): AccountState {
    let a = this.accounts.get(accountId);
    if (!a) {
      a = { providers: new Map(), roles: new Map(), policies: new Map(), attachments: new Map(), workspaces: new Map() };
      for (const name of SYSTEM_POLICIES) {
        a.policies.set(`System/${name}`, {
          name,
          type: 'System',
          description: name,
          versions: [{ id: 'v1', doc: '{"Version":"1","Statement":[{"Effect":"Allow","Action":"pai:*","Resource":"*"}]}', created: now() }],
          defaultVersion: 'v1',
          nextVersion: 2,
          created: now(),
        });
      }
      this.accounts.set(accountId, a);
    }
    return a;
  }

  addWorkspace(accountId: string, id: string, region: string): void {
    this.account(accountId).workspaces.set(id, { id, region, members: new Map() });
  }

  /** The next `times` calls of `action` fail with `error` (after authentication, like the cloud). */
  inject(action: string, error: InjectedError, times = 1): void {
    const q = this.#injected.get(action) ?? [];
    for (let i = 0; i < times; i++) q.push(error);
    this.#injected.set(action, q);
  }

  writes(): CallRecord[] {
    return this.calls.filter((c) => !/^(Get|List)/.test(c.action));
  }

  async start(): Promise<void> {
    this.#server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const action = String(req.headers['x-acs-action'] ?? '');
    let accountId: string | undefined;
    const send = (status: number, payload: Record<string, unknown>) => {
      this.calls.push({ action, status, accountId });
      const text = JSON.stringify({ RequestId: requestId(), ...payload });
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const cred = this.#authenticate(req, body);
      accountId = cred.accountId;
      const injected = this.#injected.get(action)?.shift();
      if (injected) throw new ApiError(injected.status, injected.code, injected.message ?? `Injected ${injected.code}`);
      const url = new URL(req.url ?? '/', 'http://emulator');
      const params = Object.fromEntries(parseQuery(url.search.slice(1)));
      const account = this.account(cred.accountId);
      const version = String(req.headers['x-acs-version'] ?? '');
      let out: Record<string, unknown>;
      if (version === '2019-08-15') out = this.#ims(action, params, account, cred.accountId);
      else if (version === '2015-05-01') out = this.#ram(action, params, account, cred.accountId);
      else if (version === '2021-02-04') out = this.#pai(action, req.method ?? 'GET', url.pathname, params, body, account);
      else throw new ApiError(400, 'InvalidVersion', `Specified parameter Version "${version}" is not valid.`);
      send(200, out);
    } catch (err) {
      if (err instanceof ApiError) send(err.status, { Code: err.code, Message: err.message, HostId: req.headers.host ?? '', Recommend: 'https://api.aliyun.com/troubleshoot' });
      else send(500, { Code: 'InternalError', Message: String(err) });
    }
  }

  /** Recomputes the ACS3-HMAC-SHA256 signature from what arrived on the wire. */
  #authenticate(req: IncomingMessage, body: Buffer): EmulatorCredential {
    const auth = String(req.headers['authorization'] ?? '');
    const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$/.exec(auth);
    if (!m) throw new ApiError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
    const [, akId, signedHeaderList, signature] = m as unknown as [string, string, string, string];
    const cred = this.#creds.get(akId);
    if (!cred) throw new ApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
    const signed = signedHeaderList.split(';');
    for (const h of ['host', 'x-acs-date', 'x-acs-content-sha256', 'x-acs-signature-nonce', 'x-acs-action', 'x-acs-version']) {
      if (!signed.includes(h)) throw new ApiError(400, 'IncompleteSignature', `Header ${h} must be signed.`);
    }
    const payloadHash = createHash('sha256').update(body).digest('hex');
    if (req.headers['x-acs-content-sha256'] !== payloadHash) throw new ApiError(400, 'ContentSHA256NotMatched', 'The x-acs-content-sha256 header does not match the body.');
    const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
    const canonicalQuery = parseQuery(rawQuery)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${encode(k)}=${encode(v)}`)
      .join('&');
    const canonicalHeaders = signed.map((h) => `${h}:${String(req.headers[h] ?? '').trim()}\n`).join('');
    const canonical = [req.method, rawPath, canonicalQuery, canonicalHeaders, signed.join(';'), payloadHash].join('\n');
    const toSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonical).digest('hex')}`;
    const expected = createHmac('sha256', cred.accessKeySecret).update(toSign).digest();
    const got = Buffer.from(signature, 'hex');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new ApiError(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
    }
    const date = Date.parse(String(req.headers['x-acs-date'] ?? ''));
    if (!Number.isFinite(date) || Math.abs(Date.now() - date) > 15 * 60_000) throw new ApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
    const nonce = String(req.headers['x-acs-signature-nonce'] ?? '');
    if (this.#nonces.has(nonce)) throw new ApiError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
    this.#nonces.add(nonce);
    if (cred.securityToken !== undefined && req.headers['x-acs-security-token'] !== cred.securityToken) {
      throw new ApiError(400, 'InvalidSecurityToken.Mismatch', 'Specified SecurityToken is invalid.');
    }
    return cred;
  }

  #ims(action: string, p: Record<string, string>, a: AccountState, uid: string): Record<string, unknown> {
    const view = (x: Provider, withDoc: boolean) => ({
      Arn: `acs:ram::${uid}:saml-provider/${x.name}`,
      SAMLProviderName: x.name,
      Description: x.description,
      AuthnSignAlgo: x.algo,
      CreateDate: x.created,
      UpdateDate: x.updated,
      ...(withDoc ? { EncodedSAMLMetadataDocument: x.doc } : {}),
    });
    const name = required(p, 'SAMLProviderName');
    lengthCheck(name, 'SAMLProviderName', 1, 128);
    if (!SAML_PROVIDER_NAME.test(name)) throw new ApiError(400, 'InvalidParameter.SAMLProviderName.InvalidChars', 'The SAMLProviderName contains invalid characters.');
    const existing = a.providers.get(name);
    const algo = p['AuthnSignAlgo'];
    if (algo !== undefined && algo !== 'rsa-sha256' && algo !== 'rsa-sha1') throw new ApiError(400, 'InvalidParameter.AuthnSignAlgo', 'AuthnSignAlgo must be rsa-sha256 or rsa-sha1.');
    switch (action) {
      case 'GetSAMLProvider':
        if (!existing) throw new ApiError(404, 'EntityNotExist.SAMLProvider', `The SAML provider ${name} does not exist.`);
        return { SAMLProvider: view(existing, true) };
      case 'CreateSAMLProvider': {
        if (existing) throw new ApiError(409, 'EntityAlreadyExists.SAMLProvider', `The SAML provider ${name} already exists.`);
        const doc = p['EncodedSAMLMetadataDocument'] ?? '';
        if (doc) checkMetadata(doc);
        lengthCheck(p['Description'], 'Description', 0, 256);
        const x: Provider = { name, doc, description: p['Description'] ?? '', algo: algo ?? 'rsa-sha1', created: now(), updated: now() };
        a.providers.set(name, x);
        return { SAMLProvider: view(x, false) };
      }
      case 'UpdateSAMLProvider': {
        if (!existing) throw new ApiError(404, 'EntityNotExist.SAMLProvider', `The SAML provider ${name} does not exist.`);
        const doc = p['NewEncodedSAMLMetadataDocument'];
        if (doc === undefined && p['NewDescription'] === undefined && algo === undefined) throw new ApiError(400, 'MissingParameter', 'Nothing to update.');
        if (doc !== undefined) {
          checkMetadata(doc);
          existing.doc = doc;
        }
        if (p['NewDescription'] !== undefined) {
          lengthCheck(p['NewDescription'], 'Description', 0, 256);
          existing.description = p['NewDescription'];
        }
        if (algo !== undefined) existing.algo = algo;
        existing.updated = now();
        return { SAMLProvider: view(existing, false) };
      }
      default:
        throw new ApiError(404, 'InvalidAction.NotFound', `Specified api ${action} is not found.`);
    }
  }

  #ram(action: string, p: Record<string, string>, a: AccountState, uid: string): Record<string, unknown> {
    const roleView = (r: Role) => ({
      RoleId: r.id,
      RoleName: r.name,
      Arn: `acs:ram::${uid}:role/${r.name}`,
      Description: r.description,
      AssumeRolePolicyDocument: r.trust,
      MaxSessionDuration: r.max,
      CreateDate: r.created,
      UpdateDate: r.updated,
    });
    const roleName = () => {
      const n = required(p, 'RoleName');
      lengthCheck(n, 'RoleName', 1, 64);
      if (!ROLE_NAME.test(n)) throw new ApiError(400, 'InvalidParameter.RoleName.InvalidChars', 'The RoleName contains invalid characters.');
      return n;
    };
    const getRole = (n: string) => {
      const r = a.roles.get(n);
      if (!r) throw new ApiError(404, 'EntityNotExist.Role', `The role ${n} does not exist.`);
      return r;
    };
    const policyType = () => {
      const t = required(p, 'PolicyType');
      if (t !== 'System' && t !== 'Custom') throw new ApiError(400, 'InvalidParameter.PolicyType', 'PolicyType must be System or Custom.');
      return t;
    };
    const policyName = () => {
      const n = required(p, 'PolicyName');
      lengthCheck(n, 'PolicyName', 1, 128);
      if (!POLICY_NAME.test(n)) throw new ApiError(400, 'InvalidParameter.PolicyName.InvalidChars', 'The PolicyName contains invalid characters.');
      return n;
    };
    const maxDuration = (v: string | undefined): number | undefined => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 3600 || n > 43200) throw new ApiError(400, 'InvalidParameter.MaxSessionDuration', 'MaxSessionDuration must be 3600-43200.');
      return n;
    };
    switch (action) {
      case 'GetRole':
        return { Role: roleView(getRole(roleName())) };
      case 'CreateRole': {
        const n = roleName();
        if (a.roles.has(n)) throw new ApiError(409, 'EntityAlreadyExists.Role', `The role ${n} already exists.`);
        const trust = required(p, 'AssumeRolePolicyDocument');
        checkTrustPolicy(trust, 'AssumeRolePolicyDocument');
        lengthCheck(p['Description'], 'Description', 1, 1024);
        const r: Role = {
          id: String(randomInt(100000000, 999999999)) + String(randomInt(1000000000, 9999999999)),
          name: n,
          trust,
          max: maxDuration(p['MaxSessionDuration']) ?? 3600,
          description: p['Description'] ?? '',
          created: now(),
          updated: now(),
        };
        a.roles.set(n, r);
        return { Role: roleView(r) };
      }
      case 'UpdateRole': {
        const r = getRole(roleName());
        const trust = p['NewAssumeRolePolicyDocument'];
        if (trust !== undefined) checkTrustPolicy(trust, 'NewAssumeRolePolicyDocument');
        const max = maxDuration(p['NewMaxSessionDuration']);
        lengthCheck(p['NewDescription'], 'Description', 1, 1024);
        if (trust !== undefined) r.trust = trust;
        if (max !== undefined) r.max = max;
        if (p['NewDescription'] !== undefined) r.description = p['NewDescription'];
        r.updated = now();
        return { Role: roleView(r) };
      }
      case 'ListPoliciesForRole': {
        const n = roleName();
        getRole(n);
        const list = [...(a.attachments.get(n) ?? [])].map((key) => {
          const pol = a.policies.get(key)!;
          return { PolicyName: pol.name, PolicyType: pol.type, Description: pol.description, DefaultVersion: pol.defaultVersion, AttachDate: pol.created };
        });
        return { Policies: { Policy: list } };
      }
      case 'GetPolicy': {
        const key = `${policyType()}/${policyName()}`;
        const pol = a.policies.get(key);
        if (!pol) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${key} does not exist.`);
        const def = pol.versions.find((v) => v.id === pol.defaultVersion)!;
        const attachments = [...a.attachments.values()].filter((s) => s.has(key)).length;
        return {
          Policy: { PolicyName: pol.name, PolicyType: pol.type, Description: pol.description, DefaultVersion: pol.defaultVersion, AttachmentCount: attachments, CreateDate: pol.created, UpdateDate: def.created },
          DefaultPolicyVersion: { VersionId: def.id, PolicyDocument: def.doc, IsDefaultVersion: true, CreateDate: def.created },
        };
      }
      case 'CreatePolicy': {
        const n = policyName();
        const key = `Custom/${n}`;
        if (a.policies.has(key)) throw new ApiError(409, 'EntityAlreadyExists.Policy', `The policy ${n} already exists.`);
        const doc = required(p, 'PolicyDocument');
        parsePolicyDocument(doc, 'PolicyDocument', MAX_POLICY_DOCUMENT);
        lengthCheck(p['Description'], 'Description', 1, 1024);
        a.policies.set(key, { name: n, type: 'Custom', description: p['Description'] ?? '', versions: [{ id: 'v1', doc, created: now() }], defaultVersion: 'v1', nextVersion: 2, created: now() });
        return { Policy: { PolicyName: n, PolicyType: 'Custom', DefaultVersion: 'v1' } };
      }
      case 'CreatePolicyVersion': {
        const n = policyName();
        const pol = a.policies.get(`Custom/${n}`);
        if (!pol) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${n} does not exist.`);
        const doc = required(p, 'PolicyDocument');
        parsePolicyDocument(doc, 'PolicyDocument', MAX_POLICY_DOCUMENT);
        if (pol.versions.length >= MAX_POLICY_VERSIONS) {
          if (p['RotateStrategy'] !== 'DeleteOldestNonDefaultVersionWhenLimitExceeded') {
            throw new ApiError(409, 'LimitExceeded.Policy.Version', 'The policy already has the maximum number of versions.');
          }
          const oldest = pol.versions.findIndex((v) => v.id !== pol.defaultVersion);
          pol.versions.splice(oldest, 1);
        }
        const v = { id: `v${pol.nextVersion++}`, doc, created: now() };
        pol.versions.push(v);
        if (p['SetAsDefault'] === 'true') pol.defaultVersion = v.id;
        return { PolicyVersion: { VersionId: v.id, IsDefaultVersion: pol.defaultVersion === v.id, PolicyDocument: doc, CreateDate: v.created } };
      }
      case 'AttachPolicyToRole':
      case 'DetachPolicyFromRole': {
        const key = `${policyType()}/${policyName()}`;
        const n = roleName();
        getRole(n);
        if (!a.policies.has(key)) throw new ApiError(404, 'EntityNotExist.Policy', `The policy ${key} does not exist.`);
        const set = a.attachments.get(n) ?? new Set<string>();
        a.attachments.set(n, set);
        if (action === 'AttachPolicyToRole') {
          if (set.has(key)) throw new ApiError(409, 'EntityAlreadyExists.Role.Policy', `The policy ${key} is already attached to ${n}.`);
          if ([...set].filter((k) => k.startsWith('Custom/')).length >= 10 && key.startsWith('Custom/')) throw new ApiError(409, 'LimitExceeded.Role.Policy', 'Too many policies.');
          set.add(key);
        } else {
          if (!set.has(key)) throw new ApiError(404, 'EntityNotExist.Role.Policy', `The policy ${key} is not attached to ${n}.`);
          set.delete(key);
        }
        return {};
      }
      default:
        throw new ApiError(404, 'InvalidAction.NotFound', `Specified api ${action} is not found.`);
    }
  }

  #pai(action: string, method: string, path: string, p: Record<string, string>, body: Buffer, a: AccountState): Record<string, unknown> {
    const m = /^\/api\/v1\/workspaces\/([^/]+)\/members(?:\/([^/]+)\/roles\/([^/]+))?$/.exec(path);
    if (!m) throw new ApiError(404, 'InvalidAction.NotFound', `No route for ${method} ${path}.`);
    const [, wsId, memberId, roleName] = m.map((x) => (x === undefined ? undefined : decodeURIComponent(x)));
    const routes: Record<string, string> = { 'GET members': 'ListMembers', 'POST members': 'CreateMember', 'POST role': 'AddMemberRole', 'DELETE role': 'RemoveMemberRole' };
    const expected = routes[`${method} ${memberId === undefined ? 'members' : 'role'}`];
    if (expected !== action) throw new ApiError(400, 'InvalidAction.Mismatch', `${method} ${path} is not ${action}.`);
    const ws = a.workspaces.get(wsId!);
    if (!ws) throw new ApiError(404, 'WorkspaceNotExists', `Workspace ${wsId} does not exist.`);
    const view = (x: Member) => ({ MemberId: x.memberId, UserId: x.userId, Roles: x.roles, AccountType: 'RamRole', GmtCreateTime: now() });
    switch (action) {
      case 'ListMembers': {
        let list = [...ws.members.values()];
        if (p['UserId']) list = list.filter((x) => x.userId === p['UserId']);
        const size = Number(p['PageSize'] ?? 20);
        const page = Number(p['PageNumber'] ?? 1);
        return { Members: list.slice((page - 1) * size, page * size).map(view), TotalCount: list.length };
      }
      case 'CreateMember': {
        let parsed: { Members?: Array<{ UserId?: string; Roles?: string[] }> };
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          throw new ApiError(400, 'InvalidParameter.Body', 'The body is not valid JSON.');
        }
        const created: Member[] = [];
        for (const x of parsed.Members ?? []) {
          const userId = x.UserId ?? '';
          if (![...a.roles.values()].some((r) => r.id === userId)) throw new ApiError(400, 'InvalidParameter.UserId', `User ${userId} is not a RAM user or role of this account.`);
          if ([...ws.members.values()].some((y) => y.userId === userId)) throw new ApiError(409, 'MemberAlreadyExists', `User ${userId} is already a member.`);
          const roles = x.Roles ?? [];
          if (roles.length === 0 || roles.some((r) => !PAI_ROLES.has(r))) throw new ApiError(400, 'InvalidParameter.Roles', `Roles must be among ${[...PAI_ROLES].join(', ')}.`);
          const mem = { memberId: `${randomInt(100000, 999999)}-${userId}`, userId, roles: [...roles] };
          ws.members.set(mem.memberId, mem);
          created.push(mem);
        }
        return { Members: created.map(view) };
      }
      case 'AddMemberRole':
      case 'RemoveMemberRole': {
        const mem = ws.members.get(memberId!);
        if (!mem) throw new ApiError(404, 'MemberNotExists', `Member ${memberId} does not exist.`);
        if (!PAI_ROLES.has(roleName!)) throw new ApiError(400, 'InvalidParameter.RoleName', `Unknown role ${roleName}.`);
        if (action === 'AddMemberRole') {
          if (!mem.roles.includes(roleName!)) mem.roles.push(roleName!);
        } else mem.roles = mem.roles.filter((r) => r !== roleName);
        return {};
      }
      default:
        throw new ApiError(404, 'InvalidAction.NotFound', `Specified api ${action} is not found.`);
    }
  }
}
