import { spawn } from 'node:child_process';

// Opens a URL in the user's browser: $BROWSER when set, else the platform's opener. The
// caller always prints the URL too, for when nothing opens (a remote shell, no desktop).

export type UrlOpener = (url: string) => Promise<boolean>;

export function systemOpener(env: NodeJS.ProcessEnv): UrlOpener {
  return (url) =>
    new Promise((resolve) => {
      const browser = env['BROWSER'];
      const [cmd, args]: [string, string[]] = browser
        ? [browser, [url]]
        : process.platform === 'darwin'
          ? ['open', [url]]
          : process.platform === 'win32'
            ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
            : ['xdg-open', [url]];
      try {
        const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
        child.once('error', () => resolve(false));
        child.once('spawn', () => {
          child.unref();
          resolve(true);
        });
      } catch {
        resolve(false);
      }
    });
}
