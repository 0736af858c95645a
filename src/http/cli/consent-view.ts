import { html, type Html } from '../html.js';
import { layout } from '../views.js';
import { durationText } from './cli-roles.js';

// The pages of the command-line flows: the consent page (one role, or a picker when
// several are mapped) and the device-code entry page. Both are forms that POST back to
// the gateway with the session's CSRF token; they go out through sendHtml (CSP with a
// nonce, no-store, frame-ancestors 'none').

export interface ConsentRole {
  readonly key: string;
  readonly label: string;
  readonly accountLabel: string;
  readonly durationSeconds: number;
}

export interface ConsentForm {
  readonly action: '/cli/authorize' | '/cli/device';
  readonly csrf: string;
  /** The request being consented to, carried back unchanged. */
  readonly hidden: Readonly<Record<string, string>>;
  readonly roles: readonly ConsentRole[];
  /** What the user should check before allowing (the device flow's user code). */
  readonly userCode?: string;
}

const question = (r: ConsentRole): Html =>
  html`Allow the <strong>pai-sso</strong> command on this computer to get credentials for role <strong>${r.label}</strong> in
    <strong>${r.accountLabel}</strong> for ${durationText(r.durationSeconds)}?`;

export function consentPage(nonce: string, user: { displayName: string }, form: ConsentForm): string {
  const only = form.roles.length === 1 ? form.roles[0] : undefined;
  const hidden = Object.entries(form.hidden).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}" />`);
  const device = form.userCode
    ? html`<p>Code: <strong>${form.userCode}</strong>. Allow only if this is the code your terminal shows.</p>`
    : html`<p class="muted">The credentials go to the command that opened this page, on this computer only.</p>`;
  const roles = only
    ? html`<p>${question(only)}</p>
        <input type="hidden" name="role" value="${only.key}" />`
    : html`<p>Allow the <strong>pai-sso</strong> command on this computer to get credentials for:</p>
        <ul class="choices">
          ${form.roles.map(
            (r, i) =>
              html`<li>
                <label
                  ><input type="radio" name="role" value="${r.key}" ${i === 0 ? html`checked` : ''} /> <strong>${r.label}</strong> in
                  ${r.accountLabel}, for ${durationText(r.durationSeconds)}</label
                >
              </li>`,
          )}
        </ul>`;
  return layout(
    nonce,
    'Allow command-line access',
    html`<p class="muted">Signed in as ${user.displayName}</p>
      <h1>Allow command-line access?</h1>
      ${device}
      <form method="post" action="${form.action}">
        <input type="hidden" name="csrf" value="${form.csrf}" />
        ${hidden} ${roles}
        <button type="submit" name="decision" value="allow">Allow</button>
        <button type="submit" name="decision" value="deny">Deny</button>
      </form>`,
  );
}

export function deviceEntryPage(nonce: string, user: { displayName: string }, error?: string): string {
  return layout(
    nonce,
    'Enter the code',
    html`<p class="muted">Signed in as ${user.displayName}</p>
      <h1>Enter the code shown by pai-sso</h1>
      ${error ? html`<p class="err" role="alert">${error}</p>` : ''}
      <form method="get" action="/cli/device">
        <label for="user_code">Code</label
        ><input id="user_code" name="user_code" autocomplete="off" required maxlength="16" placeholder="BCDF-GHJK" autofocus />
        <button type="submit">Continue</button>
      </form>`,
  );
}

export function doneCommandPage(nonce: string, allowed: boolean): string {
  return layout(
    nonce,
    allowed ? 'Access allowed' : 'Access denied',
    html`<h1>${allowed ? 'Access allowed' : 'Access denied'}</h1>
      <p>${allowed ? 'Return to your terminal: pai-sso is getting the credentials.' : 'The command gets no credentials.'}</p>`,
  );
}

/** A refusal on the consent step, with a link that tells the waiting command (it stops waiting). */
export function refusedForCommandPage(nonce: string, message: string, tellCommand: string): string {
  return layout(
    nonce,
    'Role not available',
    html`<h1>Role not available</h1>
      <p>${message}</p>
      <p><a href="${tellCommand}">Tell pai-sso and close</a></p>`,
  );
}
