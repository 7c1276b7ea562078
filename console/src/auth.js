// Who is signed in: a bearer token kept in this tab's sessionStorage only (never in localStorage, logs or URLs).
// Locally it comes from the silo's development issuer (POST /dev/token); in production from the OIDC authority
// (authorization code + PKCE, oidc-client-ts).
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';

const TOKEN_KEY = 'runtimeauthz.console.token';

/** The stored token, or null when there is none or it has expired. */
export function currentToken() {
  const stored = sessionStorage.getItem(TOKEN_KEY);
  if (!stored) return null;
  try {
    const { token, expiresAt } = JSON.parse(stored);
    if (typeof token === 'string' && typeof expiresAt === 'number' && expiresAt > Date.now()) return token;
  } catch {
    // not ours: dropped below
  }
  sessionStorage.removeItem(TOKEN_KEY);
  return null;
}

function keep(token, expiresInSeconds) {
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token, expiresAt: Date.now() + expiresInSeconds * 1000 }));
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The development issuer's token for a subject and one role (only a Development silo with the issuer on answers). */
export async function developmentSignIn(subject, role) {
  const reply = await fetch('/dev/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ subject, roles: [role], lifetimeSeconds: 3600 }),
  });
  const body = await reply.json().catch(() => ({}));
  if (!reply.ok) throw new Error(body.detail || `the development issuer answered ${reply.status}`);
  keep(body.access_token, body.expires_in);
}

function userManager(oidc) {
  const redirect = `${location.origin}/console/`;
  return new UserManager({
    authority: oidc.authority,
    client_id: oidc.clientId,
    redirect_uri: redirect,
    post_logout_redirect_uri: redirect,
    response_type: 'code',
    scope: oidc.scope,
    extraQueryParams: oidc.resource ? { resource: oidc.resource } : {},
    // The library's own state (PKCE verifier, user) also lives in this tab only.
    userStore: new WebStorageStateStore({ store: sessionStorage }),
    stateStore: new WebStorageStateStore({ store: sessionStorage }),
    automaticSilentRenew: false,
  });
}

/** Goes to the authority's sign-in; the page the person was on comes back with the answer (oidc-client-ts keeps it as state). */
export function oidcSignIn(oidc) {
  return userManager(oidc).signinRedirect({ state: location.hash });
}

/** Completes a sign-in when the authority has just redirected back here with ?code=&state=. */
export async function completeOidcSignIn(oidc) {
  const query = new URLSearchParams(location.search);
  if (!oidc || !query.has('code') || !query.has('state')) return false;
  const user = await userManager(oidc).signinRedirectCallback();
  const hash = typeof user.state === 'string' && user.state.startsWith('#/') ? user.state : '';
  history.replaceState(null, '', '/console/' + hash);
  keep(user.access_token, user.expires_in ?? 300);
  return true;
}
