import { html, raw, type Html } from './html.js';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.45rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.2rem;cursor:pointer}.err{color:#b42318}.muted{color:#59636e;font-size:.9rem}
ul.choices{list-style:none;padding:0}ul.choices li{margin:.5rem 0}ul.choices a{display:block;padding:.6rem .8rem;border:1px solid #d0d7de;border-radius:6px;text-decoration:none;color:inherit}
ul.choices a:hover{background:#f6f8fa}header{display:flex;justify-content:space-between;align-items:center}header form button{margin:0}`;

export function layout(nonce: string, title: string, body: Html, head: Html = html``): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${title} · pai-sso</title>
        <style nonce="${nonce}">
          ${raw(STYLE)}
        </style>
        ${head}
      </head>
      <body>
        ${body}
      </body>
    </html>`.value;
}

export interface LoginChoices {
  /** Username/password sources; a selector appears when there are several. */
  readonly passwordSources: readonly { readonly kind: string; readonly label: string }[];
  /** Upstream IdPs the user is sent to. */
  readonly redirects: readonly { readonly label: string; readonly href: string }[];
}

export function loginPage(nonce: string, opts: { csrf: string; error?: string; username?: string; choices: LoginChoices }): string {
  const { passwordSources, redirects } = opts.choices;
  const form =
    passwordSources.length === 0
      ? ''
      : html`<form method="post" action="/login">
          <input type="hidden" name="csrf" value="${opts.csrf}" />
          ${
            passwordSources.length > 1
              ? html`<label for="source">Directory</label
                  ><select id="source" name="source">
                    ${passwordSources.map((s) => html`<option value="${s.kind}">${s.label}</option>`)}
                  </select>`
              : ''
          }
          <label for="username">Username</label
          ><input id="username" name="username" autocomplete="username" required maxlength="256" value="${opts.username ?? ''}" autofocus />
          <label for="password">Password</label
          ><input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024" />
          <button type="submit">Sign in</button>
        </form>`;
  const buttons = redirects.length
    ? html`<ul class="choices">
        ${redirects.map((r) => html`<li><a href="${r.href}">Sign in with ${r.label}</a></li>`)}
      </ul>`
    : '';
  return layout(
    nonce,
    'Sign in',
    html`<h1>Sign in to open Alibaba Cloud PAI</h1>
      ${opts.error ? html`<p class="err" role="alert">${opts.error}</p>` : ''} ${buttons}${form}`,
  );
}

function signedInHeader(user: { displayName: string }, logoutCsrf: string): Html {
  return html`<header>
    <span class="muted">Signed in as ${user.displayName}</span>
    <form method="post" action="/logout">
      <input type="hidden" name="csrf" value="${logoutCsrf}" /><button type="submit">Sign out</button>
    </form>
  </header>`;
}

export interface TargetLink {
  readonly label: string;
  readonly href: string;
}

export function landingPage(
  nonce: string,
  user: { displayName: string },
  logoutCsrf: string,
  targets: readonly TargetLink[],
  hasRoles: boolean,
): string {
  return layout(
    nonce,
    'Open PAI',
    html`${signedInHeader(user, logoutCsrf)}
      <h1>Open Alibaba Cloud PAI</h1>
      ${
        hasRoles
          ? html`<ul class="choices">
              ${targets.map((t) => html`<li><a href="${t.href}">${t.label}</a></li>`)}
            </ul>`
          : html`<p>
              Your account is not mapped to any Alibaba Cloud role. Ask your administrator to add one of your groups to a mapping.
            </p>`
      }`,
  );
}

export interface RoleChoice {
  readonly label: string;
  readonly accountLabel: string;
  readonly href: string;
}

export function rolePickerPage(
  nonce: string,
  user: { displayName: string },
  logoutCsrf: string,
  targetLabel: string,
  choices: readonly RoleChoice[],
): string {
  return layout(
    nonce,
    'Choose a role',
    html`${signedInHeader(user, logoutCsrf)}
      <h1>Choose a role for ${targetLabel}</h1>
      <ul class="choices">
        ${choices.map(
          (c) =>
            html`<li>
              <a href="${c.href}"><strong>${c.label}</strong><br /><span class="muted">${c.accountLabel}</span></a>
            </li>`,
        )}
      </ul>`,
  );
}

/**
 * The hand-off to Alibaba. The script is the only one on the page and carries the
 * CSP nonce; the button is there for browsers without script.
 */
export function autoPostPage(nonce: string, acs: string, samlResponse: string, relayState: string): string {
  return layout(
    nonce,
    'Signing in to Alibaba Cloud',
    html`<noscript><p>Script is off: press the button to continue.</p></noscript>
      <form id="saml" method="post" action="${acs}">
        <input type="hidden" name="SAMLResponse" value="${samlResponse}" />
        <input type="hidden" name="RelayState" value="${relayState}" />
        <p>Signing you in to Alibaba Cloud…</p>
        <button type="submit">Continue to Alibaba Cloud</button>
      </form>
      <script nonce="${nonce}">
        document.getElementById('saml').submit();
      </script>`,
  );
}

export function messagePage(nonce: string, title: string, message: string, back = true): string {
  return layout(
    nonce,
    title,
    html`<h1>${title}</h1>
      <p>${message}</p>
      ${back ? html`<p><a href="/">Back</a></p>` : ''}`,
  );
}
