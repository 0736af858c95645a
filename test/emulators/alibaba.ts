// A local stand-in for IMS 2019-08-15, RAM 2015-05-01, AIWorkspace 2021-02-04 and STS
// 2015-04-01 (GetCallerIdentity, AssumeRoleWithSAML), good enough for the real SDKs to talk to:
// it recomputes the ACS3-HMAC-SHA256 signature from the raw request, enforces the documented
// names, lengths and documents, keeps state, judges SAML assertions as STS does, and answers
// with the cloud's error shapes. Tests inject failures, throttling and lost responses per action.
//
// One file per part, under alibaba/: emulator.ts (HTTP, routing, injected failures),
// signing.ts (ACS3 signature), sts.ts (security tokens, AssumeRoleWithSAML judging the
// assertion), caller-identity.ts (STS GetCallerIdentity), errors.ts (error shape, parameter
// checks), state.ts (per-account state), ims.ts, ram.ts, ram-tags.ts, aiworkspace.ts (the services).

export {
  AlibabaEmulator,
  type CallRecord,
  type EmulatorOptions,
  type InjectedError,
  type IssuedStsCredential,
} from './alibaba/emulator.js';
export type { EmulatorCredential } from './alibaba/signing.js';
export type { AccountState } from './alibaba/state.js';
