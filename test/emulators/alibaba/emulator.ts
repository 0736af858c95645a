import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { aiWorkspace } from './aiworkspace.js';
import { callerIdentity } from './caller-identity.js';
import { ApiError, errorBody, requestId } from './errors.js';
import { ims } from './ims.js';
import { ram } from './ram.js';
import { authenticate, parseQuery, type EmulatorCredential } from './signing.js';
import { newAccount, type AccountState } from './state.js';
import { assumeRoleWithSaml, STS_SITES } from './sts.js';

// The HTTP side: authenticates every call, applies injected failures, routes by
// x-acs-version to the service and answers in the cloud's JSON shapes.

export interface InjectedError {
  readonly status: number;
  readonly code: string;
  readonly message?: string;
}

/** Temporary credentials STS handed out (AssumeRoleWithSAML). */
export interface IssuedStsCredential extends EmulatorCredential {
  readonly securityToken: string;
  readonly expiration: string;
  readonly roleArn: string;
}

export interface EmulatorOptions {
  /** The site whose Audience STS expects (default cn). */
  readonly site?: keyof typeof STS_SITES;
  /** The emulator's clock for assertion validity (default Date.now). */
  readonly now?: () => number;
}

export interface CallRecord {
  readonly action: string;
  /** The HTTP status sent; 0 when the call took effect but its response was dropped (loseResponse). */
  readonly status: number;
  readonly accountId: string | undefined;
  /** The request line's path and query (STS tests check that no assertion travelled in it). */
  readonly url: string;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class AlibabaEmulator {
  readonly accounts = new Map<string, AccountState>();
  readonly calls: CallRecord[] = [];
  readonly #creds = new Map<string, EmulatorCredential>();
  readonly #injected = new Map<string, InjectedError[]>();
  readonly #lost = new Map<string, Array<(params: Record<string, string>) => boolean>>();
  readonly #before = new Map<string, Array<(account: AccountState) => void>>();
  readonly #nonces = new Set<string>();
  readonly #redeemed = new Set<string>();
  readonly #options: EmulatorOptions;
  /** Every credential STS issued, in order. */
  readonly stsIssued: IssuedStsCredential[] = [];
  #server: Server | undefined;
  port = 0;
  /** When set, GetCallerIdentity answers with this AccountId (e.g. '' for an answer without one). */
  callerAccountOverride: string | undefined;

  constructor(credentials: readonly EmulatorCredential[], options: EmulatorOptions = {}) {
    this.#options = options;
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
      a = newAccount();
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

  /**
   * The next `times` calls of `action` take effect but their answer never arrives: the
   * connection is closed after the write, as when a response is lost on the way back.
   */
  loseResponse(action: string, times = 1, when: (params: Record<string, string>) => boolean = () => true): void {
    const q = this.#lost.get(action) ?? [];
    for (let i = 0; i < times; i++) q.push(when);
    this.#lost.set(action, q);
  }

  /** Runs `change` on the caller's account just before the next `action` is handled: someone else acting meanwhile. */
  beforeNext(action: string, change: (account: AccountState) => void): void {
    this.#before.set(action, [...(this.#before.get(action) ?? []), change]);
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

  /** RPC parameters from the query and, when the client sends a form body, from the body. */
  #sts(req: IncomingMessage, body: Buffer): Record<string, unknown> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const form = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
      ? parseQuery(body.toString('utf8'))
      : [];
    const params = Object.fromEntries([...parseQuery(url.search.slice(1)), ...form]);
    return assumeRoleWithSaml(params, {
      accounts: this.accounts,
      audience: STS_SITES[this.#options.site ?? 'cn'].audience,
      redeemed: this.#redeemed,
      now: this.#options.now ?? Date.now,
      register: (cred) => {
        this.#creds.set(cred.accessKeyId, cred);
        this.stsIssued.push(cred);
      },
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const action = String(req.headers['x-acs-action'] ?? '');
    let accountId: string | undefined;
    const send = (status: number, payload: Record<string, unknown>) => {
      this.calls.push({ action, status, accountId, url: req.url ?? '/' });
      const text = JSON.stringify({ RequestId: requestId(), ...payload });
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      // STS AssumeRoleWithSAML is anonymous: the assertion is the credential.
      if (req.headers['x-acs-version'] === '2015-04-01' && action === 'AssumeRoleWithSAML') {
        const injected = this.#injected.get(action)?.shift();
        if (injected) throw new ApiError(injected.status, injected.code, injected.message ?? `Injected ${injected.code}`);
        send(200, this.#sts(req, body));
        return;
      }
      const cred = authenticate(req, body, this.#creds, this.#nonces);
      accountId = cred.accountId;
      const injected = this.#injected.get(action)?.shift();
      if (injected) throw new ApiError(injected.status, injected.code, injected.message ?? `Injected ${injected.code}`);
      const url = new URL(req.url ?? '/', 'http://emulator');
      const params = Object.fromEntries(parseQuery(url.search.slice(1)));
      const account = this.account(cred.accountId);
      this.#before.get(action)?.shift()?.(account);
      const version = String(req.headers['x-acs-version'] ?? '');
      let out: Record<string, unknown>;
      if (version === '2015-04-01') {
        out = callerIdentity(action, cred);
        if (this.callerAccountOverride !== undefined) out = { ...out, AccountId: this.callerAccountOverride };
      } else if (version === '2019-08-15') out = ims(action, params, account, cred.accountId);
      else if (version === '2015-05-01') out = ram(action, params, account, cred.accountId);
      else if (version === '2021-02-04') out = aiWorkspace(action, req.method ?? 'GET', url.pathname, params, body, account);
      else throw new ApiError(400, 'InvalidVersion', `Specified parameter Version "${version}" is not valid.`);
      const lost = this.#lost.get(action) ?? [];
      const i = lost.findIndex((when) => when(params));
      if (i >= 0) {
        lost.splice(i, 1);
        this.calls.push({ action, status: 0, accountId, url: req.url ?? '' });
        req.socket.destroy();
        return;
      }
      send(200, out);
    } catch (err) {
      if (err instanceof ApiError) send(err.status, errorBody(err, req.headers.host ?? ''));
      else send(500, { Code: 'InternalError', Message: String(err) });
    }
  }
}
