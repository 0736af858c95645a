import { pino, type Logger, type DestinationStream } from 'pino';

// Belt and braces: routes never log these, but a future `request.log.info({ req })`
// must not be able to leak a cookie, a password or an assertion either.
export const REDACT = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  '*.password',
  '*.SAMLResponse',
  '*.samlResponse',
  '*.privateKey',
  '*.accessKeySecret',
  '*.securityToken',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'pai-sso' } }, destination);
}
