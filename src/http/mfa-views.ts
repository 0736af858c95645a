import { html, raw, type Html } from './html.js';
import { layout } from './views.js';

// Pages of the second factor: the challenge after a password, and /account/security.
// The passkey button needs script; the script is inline, carries the page's CSP nonce
// and makes no network request itself: the WebAuthn options are rendered into the page
// and the browser's answer goes back in an ordinary form post.

/**
 * navigator.credentials.create/get with the options from `data-options` (JSON as
 * @simplewebauthn/server makes it: binary fields base64url), the result serialised the
 * same way into the form's `credential` field, then submitted.
 */
const PASSKEY_SCRIPT = `(function () {
  var form = document.getElementById('passkey-form');
  if (!form) return;
  var status = document.getElementById('passkey-status');
  function dec(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function enc(buf) {
    var bytes = new Uint8Array(buf), bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: dec(c.id) }); });
  }
  form.addEventListener('submit', function (event) {
    if (form.elements.credential.value) return;
    event.preventDefault();
    if (!window.PublicKeyCredential) { status.textContent = 'This browser does not support passkeys.'; return; }
    var o = JSON.parse(form.getAttribute('data-options'));
    var register = form.getAttribute('data-mode') === 'register';
    var call = register
      ? navigator.credentials.create({ publicKey: Object.assign({}, o, {
          challenge: dec(o.challenge),
          user: Object.assign({}, o.user, { id: dec(o.user.id) }),
          excludeCredentials: ids(o.excludeCredentials) }) })
      : navigator.credentials.get({ publicKey: Object.assign({}, o, {
          challenge: dec(o.challenge), allowCredentials: ids(o.allowCredentials) }) });
    status.textContent = 'Waiting for your passkey…';
    call.then(function (cred) {
      var r = cred.response;
      var response = register
        ? { clientDataJSON: enc(r.clientDataJSON), attestationObject: enc(r.attestationObject),
            transports: r.getTransports ? r.getTransports() : [] }
        : { clientDataJSON: enc(r.clientDataJSON), authenticatorData: enc(r.authenticatorData), signature: enc(r.signature),
            userHandle: r.userHandle ? enc(r.userHandle) : undefined };
      form.elements.credential.value = JSON.stringify({ id: cred.id, rawId: enc(cred.rawId), type: cred.type, response: response,
        clientExtensionResults: cred.getClientExtensionResults(), authenticatorAttachment: cred.authenticatorAttachment || undefined });
      form.submit();
    }, function (err) {
      status.textContent = 'The passkey was not used (' + err.name + '). Try again or use another way.';
    });
  });
})();`;

function passkeyForm(
  nonce: string,
  opts: {
    action: string;
    csrf: string;
    mode: 'register' | 'authenticate';
    options: unknown;
    button: string;
    label?: boolean;
    returnTo?: string | undefined;
  },
): Html {
  return html`<form
      id="passkey-form"
      method="post"
      action="${opts.action}"
      data-mode="${opts.mode}"
      data-options="${JSON.stringify(opts.options)}"
    >
      <input type="hidden" name="csrf" value="${opts.csrf}" />
      <input type="hidden" name="credential" value="" />
      ${opts.returnTo ? html`<input type="hidden" name="returnTo" value="${opts.returnTo}" />` : ''}
      ${opts.label ? html`<label for="passkey-label">Name for this passkey</label><input id="passkey-label" name="label" maxlength="64" value="Passkey" />` : ''}
      <button type="submit" id="passkey-button">${opts.button}</button>
      <p id="passkey-status" class="muted" role="status"></p>
    </form>
    <script nonce="${nonce}">
      ${raw(PASSKEY_SCRIPT)};
    </script>`;
}

export interface ChallengeView {
  readonly csrf: string;
  readonly totp: boolean;
  readonly passkeyOptions?: unknown;
  readonly recoveryLeft: number;
  readonly error?: string | undefined;
}

/** After a correct password (or for a step-up): one of the user's second factors. */
export function challengePage(nonce: string, v: ChallengeView): string {
  return layout(
    nonce,
    'Second factor',
    html`<h1>Confirm it is you</h1>
      ${v.error ? html`<p class="err" role="alert">${v.error}</p>` : ''}
      ${
        v.passkeyOptions !== undefined
          ? passkeyForm(nonce, {
              action: '/login/mfa/passkey',
              csrf: v.csrf,
              mode: 'authenticate',
              options: v.passkeyOptions,
              button: 'Use a passkey',
            })
          : ''
      }
      ${
        v.totp
          ? html`<form method="post" action="/login/mfa/totp">
              <input type="hidden" name="csrf" value="${v.csrf}" />
              <label for="code">Code from your authenticator app</label
              ><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required />
              <button type="submit">Verify</button>
            </form>`
          : ''
      }
      ${
        v.recoveryLeft > 0
          ? html`<details>
              <summary>Lost your device? Use a recovery code</summary>
              <form method="post" action="/login/mfa/recovery">
                <input type="hidden" name="csrf" value="${v.csrf}" />
                <label for="recovery">Recovery code</label><input id="recovery" name="code" autocomplete="off" maxlength="32" required />
                <button type="submit">Use recovery code</button>
              </form>
            </details>`
          : ''
      }
      <p class="muted">No access to any of these? Ask the helpdesk to reset your second factor.</p>`,
  );
}

export interface SecurityView {
  readonly displayName: string;
  readonly csrf: string;
  readonly managed: boolean;
  /** The session has proven a second factor (or the user has none yet): changes are allowed. */
  readonly canChange: boolean;
  readonly totp: boolean;
  readonly passkeys: readonly { readonly label: string; readonly createdAt: string }[];
  readonly recoveryLeft: number;
  readonly registrationOptions?: unknown;
  readonly notice?: string | undefined;
  readonly error?: string | undefined;
  readonly returnTo?: string | undefined;
}

export function securityPage(nonce: string, v: SecurityView): string {
  if (!v.managed) {
    return layout(
      nonce,
      'Account security',
      html`<h1>Account security</h1>
        <p>You sign in through your company's identity provider; second factors are managed there.</p>
        <p><a href="/">Back</a></p>`,
    );
  }
  const changes = v.canChange
    ? html`<h2>Authenticator app</h2>
        ${
          v.totp
            ? html`<p>An authenticator app is set up.</p>`
            : html`<form method="post" action="/account/security/totp/begin">
                <input type="hidden" name="csrf" value="${v.csrf}" />
                ${v.returnTo ? html`<input type="hidden" name="returnTo" value="${v.returnTo}" />` : ''}
                <button type="submit">Set up an authenticator app</button>
              </form>`
        }
        <h2>Passkeys</h2>
        ${
          v.passkeys.length
            ? html`<ul>
                ${v.passkeys.map((p) => html`<li>${p.label} <span class="muted">(added ${p.createdAt})</span></li>`)}
              </ul>`
            : html`<p>No passkey yet.</p>`
        }
        ${
          v.registrationOptions !== undefined
            ? passkeyForm(nonce, {
                action: '/account/security/passkey',
                csrf: v.csrf,
                mode: 'register',
                options: v.registrationOptions,
                button: 'Add a passkey',
                label: true,
                returnTo: v.returnTo,
              })
            : ''
        }
        <h2>Recovery codes</h2>
        <p>${v.recoveryLeft} unused recovery code${v.recoveryLeft === 1 ? '' : 's'}.</p>
        ${
          v.totp || v.passkeys.length
            ? html`<form method="post" action="/account/security/recovery">
                <input type="hidden" name="csrf" value="${v.csrf}" /><button type="submit">Make new recovery codes</button>
              </form>`
            : ''
        }`
    : html`<p>
        Your account has a second factor. To change it, first <a href="/login/mfa?returnTo=%2Faccount%2Fsecurity">confirm it is you</a>.
      </p>`;
  return layout(
    nonce,
    'Account security',
    html`<h1>Account security</h1>
      <p class="muted">Signed in as ${v.displayName}</p>
      ${v.notice ? html`<p role="status">${v.notice}</p>` : ''} ${v.error ? html`<p class="err" role="alert">${v.error}</p>` : ''}
      ${changes}
      <p><a href="${v.returnTo ?? '/'}">Continue</a></p>`,
  );
}

export function totpSetupPage(nonce: string, v: { csrf: string; secret: string; uri: string; error?: string | undefined }): string {
  const grouped = v.secret.replace(/(.{4})/g, '$1 ').trim();
  return layout(
    nonce,
    'Set up an authenticator app',
    html`<h1>Set up an authenticator app</h1>
      ${v.error ? html`<p class="err" role="alert">${v.error}</p>` : ''}
      <p>In your authenticator app, add an account with this key (time-based, 6 digits), or open the link on your phone:</p>
      <p><code id="totp-secret">${grouped}</code></p>
      <p><a id="totp-uri" href="${v.uri}">Open in authenticator app</a></p>
      <form method="post" action="/account/security/totp">
        <input type="hidden" name="csrf" value="${v.csrf}" />
        <label for="code">The code the app shows now</label
        ><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required />
        <button type="submit">Turn on</button>
      </form>`,
  );
}

export function recoveryCodesPage(nonce: string, v: { codes: readonly string[]; continueTo: string; intro: string }): string {
  return layout(
    nonce,
    'Recovery codes',
    html`<h1>Your recovery codes</h1>
      <p>${v.intro}</p>
      <p>Each code works once, in place of your authenticator when you have lost it. Keep them somewhere safe; they are not shown again.</p>
      <ul id="recovery-codes">
        ${v.codes.map((c) => html`<li><code>${c}</code></li>`)}
      </ul>
      <p><a href="${v.continueTo}">Continue</a></p>`,
  );
}
