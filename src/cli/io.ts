import { Writable } from 'node:stream';
import { createInterface } from 'node:readline';

export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export { EXIT, UsageError } from '../errors.js';
import { UsageError } from '../errors.js';

export async function readAll(stream: NodeJS.ReadableStream, limit = 4096): Promise<string> {
  let out = '';
  for await (const chunk of stream) {
    out += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (out.length > limit) throw new UsageError('input too long');
  }
  return out;
}

/** Asks on the terminal without echoing what is typed. */
export async function promptHidden(io: CliIo, question: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _enc, cb) => cb() });
  io.stderr.write(question);
  const rl = createInterface({ input: io.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    io.stderr.write('\n');
  }
}
