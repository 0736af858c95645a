import { randomInt } from 'node:crypto';

// The cloud's error shape and the parameter checks every service shares.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const requestId = () => `${randomInt(0x10000000, 0x7fffffff).toString(16).toUpperCase()}-EMU`;

/** The body the cloud sends with a failed call. */
export function errorBody(err: ApiError, host: string): Record<string, unknown> {
  return { Code: err.code, Message: err.message, HostId: host, Recommend: 'https://api.aliyun.com/troubleshoot' };
}

export function unknownAction(action: string): ApiError {
  return new ApiError(404, 'InvalidAction.NotFound', `Specified api ${action} is not found.`);
}

export function lengthCheck(value: string | undefined, field: string, min: number, max: number): void {
  if (value === undefined) return;
  if (value.length < min || value.length > max)
    throw new ApiError(400, `InvalidParameter.${field}.Length`, `The parameter ${field} is beyond the length limit (${min}-${max}).`);
}

export function required(p: Record<string, string>, name: string): string {
  const v = p[name];
  if (v === undefined || v === '') throw new ApiError(400, `MissingParameter.${name}`, `The parameter ${name} is required.`);
  return v;
}

/** A required name: present, 1 to `max` characters, only the characters `allowed` accepts. */
export function requiredName(p: Record<string, string>, field: string, max: number, allowed: RegExp): string {
  const n = required(p, field);
  lengthCheck(n, field, 1, max);
  if (!allowed.test(n)) throw new ApiError(400, `InvalidParameter.${field}.InvalidChars`, `The ${field} contains invalid characters.`);
  return n;
}
