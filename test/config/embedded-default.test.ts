import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { embeddedDefaultGroups } from '../../src/config/embedded-default.js';
import { baseConfig } from '../helpers/gateway.js';

describe('the first-start admin’s groups', () => {
  it('are the groups config/default.yaml maps, and nothing else', async () => {
    expect(await embeddedDefaultGroups()).toEqual(['pai-users']);
  });

  it('follow the embedded file, each group once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pai-sso-embedded-'));
    try {
      const file = join(dir, 'default.yaml');
      await writeFile(
        file,
        stringify(
          baseConfig({
            mappings: [
              { group: 'a', roles: ['dev'] },
              { group: 'a', roles: ['admin'] },
            ],
          }),
        ),
      );
      expect(await embeddedDefaultGroups(file)).toEqual(['a']);
      expect(await embeddedDefaultGroups(join(dir, 'missing.yaml'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
