import { html } from 'hono/html';
import { page, type Html } from './layout.ts';

export function signInPage(options: { next: string; error: string | null; signedOut: boolean }): Html {
  return page(
    { title: 'Sign in', identity: null },
    html`<div class="card narrow sign-in">
      <h1>Sign in</h1>
      <p class="muted">Webhooks admin of this Dialer.CX installation. Use the admin token (ADMIN_TOKEN) from its configuration.</p>
      ${options.signedOut ? html`<div class="flash ok" role="status">You are signed out.</div>` : ''}
      ${options.error ? html`<div class="flash error" role="alert">${options.error}</div>` : ''}
      <form method="post" action="/sign-in">
        <input type="hidden" name="next" value="${options.next}" />
        <div class="field">
          <label for="token">Token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
        </div>
        <div class="actions"><button type="submit" class="button primary">Sign in</button></div>
      </form>
    </div>`,
  );
}
