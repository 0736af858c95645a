// The layers of src/, bottom first, and what each may import besides itself (docs/architecture.md
// draws the same table). Anything of ours not listed is refused.
export const ENTRIES = [
  'alibaba.ts',
  'errors.ts',
  'logger.ts',
  'config',
  'crypto',
  'state',
  'keys',
  'audit',
  'mapping',
  'saml',
  'sts',
  'mfa',
  'security',
  'identity',
  'http',
  'ram',
  'server.ts',
  'cli',
  'cli.ts',
];
const BOTTOM = ['alibaba.ts', 'errors.ts', 'logger.ts'];
export const LAYERS = {
  'alibaba.ts': [],
  'errors.ts': [],
  'logger.ts': [],
  config: ['alibaba.ts', 'errors.ts'],
  crypto: ['errors.ts'],
  state: ['errors.ts', 'config'],
  keys: ['errors.ts', 'config'],
  audit: [...BOTTOM],
  // Pure: groups in, roles out. User is plain data (identity/user.ts), the one file of identity it may read.
  mapping: [...BOTTOM, 'config', 'identity/user.ts'],
  // The issuing core: plain inputs, no identity, mapping or HTTP.
  saml: [...BOTTOM, 'config', 'keys'],
  // The STS client takes plain inputs (the command line's AssumeRoleWithSAML).
  sts: ['errors.ts', 'alibaba.ts'],
  // Second factors: TOTP, passkeys, recovery codes, enrolments sealed at rest.
  mfa: [...BOTTOM, 'config', 'crypto', 'state'],
  security: [...BOTTOM, 'config', 'state', 'audit'],
  identity: [...BOTTOM, 'config', 'crypto', 'state', 'keys', 'audit'],
  http: [...BOTTOM, 'config', 'crypto', 'state', 'keys', 'audit', 'mapping', 'saml', 'mfa', 'security', 'identity'],
  // register works from config and keys (and the metadata they make); cli/io.ts is shared terminal plumbing.
  ram: [...BOTTOM, 'config', 'keys', 'saml', 'cli/io.ts'],
  'server.ts': ENTRIES.filter((e) => e !== 'cli' && e !== 'cli.ts' && e !== 'ram'),
  cli: ENTRIES,
  'cli.ts': ENTRIES,
};
