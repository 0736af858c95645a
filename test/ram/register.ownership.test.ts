import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { ACCOUNT, WORKSPACE, harness, type Harness } from './helpers.js';

// Ownership against the emulator: register touches only what carries its marker (or what
// the operator adopts), lists what it made that the config no longer names, and takes that
// access away with --prune.

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

const MARKER = 'sso.example.test/saml/metadata';
const PROVIDER_ARN = `acs:ram::${ACCOUNT}:saml-provider/corp-idp`;
const state = () => h.emulator.account(ACCOUNT);
const register = (c: Config) => c.register!;

/** The config without one of its roles (as if an admin deleted it from the YAML). */
function withoutRole(c: Config, key: string): Config {
  const { [key]: _role, ...roles } = c.roles;
  const { [key]: _reg, ...regRoles } = register(c).roles;
  return { ...c, roles, register: { ...register(c), roles: regRoles } };
}

describe('what register did not create', () => {
  it('an existing role of the same name is blocked: listed, never touched, until adopted', async () => {
    const handmade = JSON.stringify({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: [`acs:ram::${ACCOUNT}:root`] } }],
    });
    state().roles.set('pai-admin', {
      id: '42',
      name: 'pai-admin',
      trust: handmade,
      max: 3600,
      description: 'by hand',
      created: '',
      updated: '',
      tags: new Map([['owner', 'ops']]),
    });

    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(
      /! blocked role\/pai-admin\n {8}! exists but register did not create it \(no pai-sso:managed marker\); left untouched\n {8}note: to let register take it over, rerun with --adopt role\/pai-admin \(or list it in register.adopt\)/,
    );
    expect(plan.stdout).toMatch(/1 blocked: made by someone else; --adopt <address> lets register take it over\./);

    const apply = await h.run(['apply', '--yes']);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toMatch(
      /nothing was applied: \[prod\] role\/pai-admin exists but register did not create it\. Take over with --adopt <address>/,
    );
    expect(h.emulator.writes()).toHaveLength(0);

    expect((await h.run(['plan', '--adopt', 'role/nope'])).code).toBe(2);
    const adoptPlan = await h.run(['plan', '--adopt', 'role/pai-admin']);
    expect(adoptPlan.stdout).toMatch(/~ update role\/pai-admin/);
    expect(adoptPlan.stdout).toContain(`+ tag pai-sso:managed=${MARKER}`);
    expect(adoptPlan.stdout).toContain('note: adopted (role/pai-admin): register marks it as its own and manages it from now on');
    expect(adoptPlan.stdout).toContain(`note: kept trust statement we did not write: Allow sts:AssumeRole RAM acs:ram::${ACCOUNT}:root`);
    expect(adoptPlan.stdout).toContain('note: kept tag owner=ops (not configured; --prune removes it)');

    const adopted = await h.run(['apply', '--yes', '--adopt', 'role/pai-admin']);
    expect(adopted.code, adopted.stderr).toBe(0);
    const role = state().roles.get('pai-admin')!;
    expect(Object.fromEntries(role.tags)).toEqual({
      owner: 'ops',
      'pai-sso:managed': MARKER,
      [`pai-sso:workspace/${WORKSPACE}@cn-hangzhou`]: 'member',
    });
    expect((JSON.parse(role.trust) as { Statement: unknown[] }).Statement).toHaveLength(2);
    // Marked now: no --adopt needed any more.
    expect((await h.run(['plan'])).code).toBe(0);
  });

  it('a provider from an earlier register (no marker) is adopted through register.adopt', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const provider = state().providers.get('corp-idp')!;
    provider.description = 'pai-sso gateway (managed by pai-sso register)';
    const plan = await h.run(['plan']);
    expect(plan.stdout).toMatch(/! blocked saml-provider\/corp-idp/);
    h.config = { ...h.config, register: { ...register(h.config), adopt: ['saml-provider/corp-idp'] } };
    const adoptPlan = await h.run(['plan']);
    expect(adoptPlan.stdout).toContain(
      `~ description "pai-sso gateway (managed by pai-sso register)" -> "pai-sso gateway (managed by pai-sso register) [pai-sso:managed=${MARKER}]"`,
    );
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    expect(provider.description).toBe(`pai-sso gateway (managed by pai-sso register) [pai-sso:managed=${MARKER}]`);
  });

  it('a role another gateway manages is blocked and says whose it is', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    state().roles.get('pai-admin')!.tags.set('pai-sso:managed', 'staging-sso.example.test/saml/metadata');
    const plan = await h.run(['plan']);
    expect(plan.stdout).toContain(
      '! exists and is managed by another gateway (pai-sso:managed=staging-sso.example.test/saml/metadata); left untouched',
    );
  });
});

describe('what the config no longer names', () => {
  it('a role removed from the config: listed while it trusts the provider, revoked with --prune, deleted with --delete-roles', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    h.config = withoutRole(h.config, 'pai-admin');

    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(
      /! orphan role\/pai-admin\n {8}! not in the config, but it still trusts saml-provider\/corp-idp: people can still sign in to it/,
    );
    expect(plan.stdout).toContain(`note: still a member of workspace ${WORKSPACE}@cn-hangzhou (--prune --delete-roles removes it)`);

    const writes = h.emulator.writes().length;
    const keep = await h.run(['apply', '--yes']);
    expect(keep.code).toBe(0);
    expect(keep.stderr).toMatch(
      /still granting access although the config no longer names them: \[prod\] role\/pai-admin; rerun with --prune/,
    );
    expect(h.emulator.writes().length).toBe(writes);

    const revoke = await h.run(['apply', '--yes', '--prune']);
    expect(revoke.code, revoke.stderr).toBe(0);
    const role = state().roles.get('pai-admin')!;
    expect(JSON.stringify(JSON.parse(role.trust))).not.toContain(PROVIDER_ARN);
    expect(JSON.parse(role.trust)).toEqual({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: [`acs:ram::${ACCOUNT}:root`] } }],
    });
    expect((await h.run(['plan'])).code).toBe(0);

    expect((await h.run(['plan', '--delete-roles'])).code).toBe(2);
    const del = await h.run(['plan', '--prune', '--delete-roles']);
    expect(del.stdout).toMatch(
      /- delete role\/pai-admin\n {8}- role \(register created it; the config no longer names it\)\n {8}- member of workspace 12345 as PAI.WorkspaceAdmin, PAI.AlgoDeveloper\n {8}- detach System\/AliyunPAIFullAccess/,
    );
    const gone = await h.run(['apply', '--yes', '--prune', '--delete-roles']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(
      /done \[prod\] aiworkspace:DeleteMembers pai-admin .*\n.*done \[prod\] ram:DetachPolicyFromRole System\/AliyunPAIFullAccess from pai-admin\n.*done \[prod\] ram:DeleteRole pai-admin/,
    );
    expect(state().roles.has('pai-admin')).toBe(false);
    expect(state().workspaces.get(WORKSPACE)!.members.size).toBe(1);
    expect((await h.run(['plan'])).code).toBe(0);
  });

  it('a workspace dropped from a role: the membership register made is listed, and removed with --prune', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const reg = register(h.config);
    h.config = { ...h.config, register: { ...reg, roles: { ...reg.roles, 'pai-dev': { ...reg.roles['pai-dev']!, workspaces: [] } } } };
    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(
      /! orphan workspace\/12345@cn-hangzhou\/member\/pai-developer\n {8}! member of workspace 12345 as PAI.AlgoDeveloper; the config no longer lists this workspace/,
    );
    expect((await h.run(['apply', '--yes', '--prune'])).code).toBe(0);
    const dev = state().roles.get('pai-developer')!;
    expect([...state().workspaces.get(WORKSPACE)!.members.values()].some((m) => m.userId === dev.id)).toBe(false);
    expect([...dev.tags.keys()]).toEqual(['pai-sso:managed']);
    expect((await h.run(['plan'])).code).toBe(0);
  });

  it('the PAI policy no longer attached by any role: listed, detached and deleted with --prune', async () => {
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    const reg = register(h.config);
    h.config = {
      ...h.config,
      register: { ...reg, roles: { ...reg.roles, 'pai-dev': { ...reg.roles['pai-dev']!, attachPaiPolicy: false } } },
    };
    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toMatch(
      /! orphan policy\/PAIDefaultPolicy\n {8}! register created it and the config no longer names it \(attached to role\/pai-developer\)/,
    );
    const prune = await h.run(['apply', '--yes', '--prune']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(
      /done \[prod\] ram:DetachPolicyFromRole Custom\/PAIDefaultPolicy from pai-developer\n[\s\S]*done \[prod\] ram:DeletePolicy PAIDefaultPolicy/,
    );
    expect(state().policies.has('Custom/PAIDefaultPolicy')).toBe(false);
    expect((await h.run(['plan'])).code).toBe(0);
  });
});

describe('descriptions and tags follow the config', () => {
  it('a changed role description and register.tags show in the plan and are applied', async () => {
    const reg = register(h.config);
    h.config = {
      ...h.config,
      register: { ...reg, roles: { ...reg.roles, 'pai-dev': { ...reg.roles['pai-dev']!, description: 'PAI developers' } } },
    };
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    expect(state().roles.get('pai-developer')!.description).toBe('PAI developers');

    const reg2 = register(h.config);
    h.config = {
      ...h.config,
      register: {
        ...reg2,
        tags: { team: 'ml' },
        roles: { ...reg2.roles, 'pai-dev': { ...reg2.roles['pai-dev']!, description: 'PAI developers (SSO)' } },
      },
    };
    const plan = await h.run(['plan']);
    expect(plan.code).toBe(3);
    expect(plan.stdout).toContain('~ description "PAI developers" -> "PAI developers (SSO)"');
    expect(plan.stdout.match(/\+ tag team=ml/g)).toHaveLength(3);
    expect((await h.run(['apply', '--yes'])).code).toBe(0);
    expect(state().roles.get('pai-developer')!.description).toBe('PAI developers (SSO)');
    expect(state().roles.get('pai-admin')!.tags.get('team')).toBe('ml');
    expect(state().policies.get('Custom/PAIDefaultPolicy')!.tags.get('team')).toBe('ml');
    expect((await h.run(['plan'])).code).toBe(0);
  });
});
