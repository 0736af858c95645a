import { PaiSsoError } from '../../errors.js';

// The command's side of the gateway's /cli/ endpoints (src/http/routes/cli.ts): form
// posts, JSON answers in the OAuth error shape. Nothing here prints or logs what it
// receives: the SAML Response and the refresh token go straight to the caller.

export const CLIENT_ID = 'pai-sso-cli';
const TIMEOUT_MS = 20_000;

export interface GatewayRole {
  readonly key: string;
  readonly label: string;
  readonly accountLabel: string;
  readonly roleArn: string;
  readonly providerArn: string;
}

export interface TokenResponse {
  readonly samlResponse: string;
  readonly role: GatewayRole;
  readonly durationSeconds: number;
  readonly refreshToken: string;
  /** ms since the epoch: when the gateway session (and so the refresh grant) ends. */
  readonly refreshExpiresAt: number;
  readonly stsEndpoint?: string;
}

export interface DeviceStart {
  readonly deviceCode: string;
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete: string;
  readonly expiresIn: number;
  readonly interval: number;
}

/** The gateway answered with an OAuth error (invalid_grant, access_denied, slow_down, ...). */
export class GatewayRefusedError extends PaiSsoError {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status: number,
  ) {
    super('PAI_SSO_CLI_REFUSED', 'runtime', `the gateway refused: ${error}${description ? ` (${description})` : ''}`);
  }
}

export class GatewayUnavailableError extends PaiSsoError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAI_SSO_CLI_GATEWAY', 'unavailable', message, options);
  }
}

const str = (o: Record<string, unknown>, k: string): string => {
  const v = o[k];
  if (typeof v !== 'string' || v === '') throw new GatewayUnavailableError(`the gateway's answer has no ${k}`);
  return v;
};
const num = (o: Record<string, unknown>, k: string): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new GatewayUnavailableError(`the gateway's answer has no ${k}`);
  return v;
};

async function post(gateway: string, path: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(`${gateway}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: CLIENT_ID, ...form }).toString(),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new GatewayUnavailableError(`cannot reach the gateway at ${gateway}: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    body = undefined;
  }
  const obj = body && typeof body === 'object' ? (body as Record<string, unknown>) : undefined;
  if (res.ok && obj) return obj;
  if (obj && typeof obj['error'] === 'string') {
    throw new GatewayRefusedError(obj['error'], typeof obj['error_description'] === 'string' ? obj['error_description'] : '', res.status);
  }
  if (res.status === 404)
    throw new GatewayUnavailableError(`${gateway} does not offer command-line sign-in (no ${path}; cli.enabled may be false)`);
  throw new GatewayUnavailableError(`the gateway at ${gateway} answered HTTP ${res.status}`);
}

function tokenResponse(o: Record<string, unknown>, now: () => number): TokenResponse {
  const role = (o['role'] ?? {}) as Record<string, unknown>;
  const sts = o['sts_endpoint'];
  return {
    samlResponse: str(o, 'saml_response'),
    role: {
      key: str(role, 'key'),
      label: str(role, 'label'),
      accountLabel: str(role, 'account_label'),
      roleArn: str(role, 'role_arn'),
      providerArn: str(role, 'provider_arn'),
    },
    durationSeconds: num(o, 'duration_seconds'),
    refreshToken: str(o, 'refresh_token'),
    refreshExpiresAt: now() + num(o, 'refresh_expires_in') * 1000,
    ...(typeof sts === 'string' && sts !== '' ? { stsEndpoint: sts } : {}),
  };
}

export interface GatewayApi {
  exchangeCode(code: string, verifier: string, redirectUri: string): Promise<TokenResponse>;
  refresh(refreshToken: string): Promise<TokenResponse>;
  startDevice(role: string | undefined, durationSeconds: number): Promise<DeviceStart>;
  pollDevice(deviceCode: string): Promise<TokenResponse>;
  revoke(refreshToken: string): Promise<void>;
}

export function gatewayApi(gateway: string, now: () => number = Date.now): GatewayApi {
  return {
    async exchangeCode(code, verifier, redirectUri) {
      const o = await post(gateway, '/cli/token', {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: redirectUri,
      });
      return tokenResponse(o, now);
    },
    async refresh(refreshToken) {
      return tokenResponse(await post(gateway, '/cli/token', { grant_type: 'refresh_token', refresh_token: refreshToken }), now);
    },
    async startDevice(role, durationSeconds) {
      const o = await post(gateway, '/cli/device/code', { ...(role !== undefined ? { role } : {}), duration: String(durationSeconds) });
      return {
        deviceCode: str(o, 'device_code'),
        userCode: str(o, 'user_code'),
        verificationUri: str(o, 'verification_uri'),
        verificationUriComplete: str(o, 'verification_uri_complete'),
        expiresIn: num(o, 'expires_in'),
        interval: num(o, 'interval'),
      };
    },
    async pollDevice(deviceCode) {
      const o = await post(gateway, '/cli/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode });
      return tokenResponse(o, now);
    },
    async revoke(refreshToken) {
      await post(gateway, '/cli/revoke', { token: refreshToken });
    },
  };
}
