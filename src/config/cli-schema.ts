import { Type, type Static } from '@sinclair/typebox';

// `cli:` — credentials for the command line and SDKs (`pai-sso login`): the loopback
// browser flow and the device flow at /cli/, and how long the STS credentials may live.

const Strict = { additionalProperties: false } as const;

export const CliDeviceSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Offer the device flow (pai-sso login --device) for headless machines' }),
    codeTtlSeconds: Type.Integer({ minimum: 60, maximum: 1800, default: 600, description: 'How long a device code waits for approval' }),
    intervalSeconds: Type.Integer({ minimum: 1, maximum: 60, default: 5, description: 'Minimum seconds between two polls' }),
  },
  Strict,
);

export const CliSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve /cli/ (pai-sso login); false: only the console hand-off' }),
    maxDurationSeconds: Type.Integer({
      minimum: 900,
      maximum: 43200,
      default: 3600,
      description: "Longest STS DurationSeconds the CLI may ask for (also capped by the role's MaxSessionDuration)",
    }),
    codeTtlSeconds: Type.Integer({ minimum: 10, maximum: 60, default: 60, description: 'Lifetime of a loopback authorization code' }),
    stsEndpoint: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'STS endpoint the CLI should use (regional or VPC), unless the user names one; default sts.aliyuncs.com',
      }),
    ),
    device: Type.Object(CliDeviceSchema.properties, { ...Strict, default: {} }),
  },
  Strict,
);

export type CliConfig = Static<typeof CliSchema>;
