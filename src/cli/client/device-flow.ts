import { PaiSsoError } from '../../errors.js';
import { GatewayRefusedError, type GatewayApi, type TokenResponse } from './gateway-api.js';

// The device flow (RFC 8628 shape) for a machine without a browser: show the user code and
// where to enter it, then poll at the interval the gateway asked for, 5 s slower after
// each slow_down, until the code is approved, denied or expired.

export interface DeviceOptions {
  readonly api: GatewayApi;
  readonly role?: string;
  readonly durationSeconds: number;
  readonly say: (line: string) => void;
  readonly signal?: AbortSignal;
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function deviceLogin(opts: DeviceOptions): Promise<TokenResponse> {
  const sleep = opts.sleep ?? defaultSleep;
  const start = await opts.api.startDevice(opts.role, opts.durationSeconds);
  opts.say(
    `To sign in, open ${start.verificationUri} in a browser where you are signed in to the gateway and enter the code\n\n` +
      `    ${start.userCode}\n\n(or open ${start.verificationUriComplete})\nWaiting for approval…`,
  );
  let interval = Math.max(1, start.interval) * 1000;
  const deadline = Date.now() + start.expiresIn * 1000;
  for (;;) {
    if (opts.signal?.aborted) throw new PaiSsoError('PAI_SSO_CLI_ABORTED', 'runtime', 'cancelled');
    await sleep(interval);
    try {
      return await opts.api.pollDevice(start.deviceCode);
    } catch (err) {
      if (!(err instanceof GatewayRefusedError)) throw err;
      if (err.error === 'authorization_pending') {
        if (Date.now() > deadline + 5000)
          throw new PaiSsoError('PAI_SSO_CLI_EXPIRED', 'runtime', 'the code expired: run `pai-sso login --device` again');
        continue;
      }
      if (err.error === 'slow_down') {
        interval += 5000;
        continue;
      }
      if (err.error === 'expired_token')
        throw new PaiSsoError(
          'PAI_SSO_CLI_EXPIRED',
          'runtime',
          'the code expired before it was approved: run `pai-sso login --device` again',
        );
      if (err.error === 'access_denied') throw new PaiSsoError('PAI_SSO_CLI_DENIED', 'runtime', 'the sign-in was denied in the browser');
      throw err;
    }
  }
}
