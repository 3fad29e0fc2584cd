/** The sign-in page: user name, password, the form's CSRF token and where to go after. */
import { html } from './html.ts';
import { renderPage } from './layout.ts';

export interface LoginPageOptions {
  csrf: string;
  /** A local path to return to after signing in. */
  next: string;
  /** Shown above the form after a failed attempt. */
  error?: string;
  user?: string;
}

export function renderLoginPage(options: LoginPageOptions): string {
  const error = options.error ? html`<p class="login-error" role="alert">${options.error}</p>` : '';
  return renderPage({
    title: 'Sign in — Conveyor',
    body: html`<h1>Sign in</h1>
${error}
<form class="login" method="post" action="/login">
  <input type="hidden" name="csrf" value="${options.csrf}">
  <input type="hidden" name="next" value="${options.next}">
  <label>User <input name="user" autocomplete="username" required maxlength="64" value="${options.user ?? ''}" autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
  <button type="submit">Sign in</button>
</form>`,
  }).value;
}
