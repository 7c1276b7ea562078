// The console's frame: sign-in, the pages the caller's roles allow, and the refusal when they allow none.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';
import { currentToken, developmentSignIn, oidcSignIn, signOut } from './auth.js';
import { Loading, Problem, useLoad, useRoute, go } from './ui.js';
import { ApprovalsPage } from './pages/approvals.js';
import { SessionsPage } from './pages/sessions.js';
import { AgentsPage } from './pages/agents.js';
import { PoliciesPage } from './pages/policies.js';
import { EvidencePage } from './pages/evidence.js';

const PAGES = {
  approvals: { title: 'Approvals', component: ApprovalsPage },
  sessions: { title: 'Sessions', component: SessionsPage },
  agents: { title: 'Agents', component: AgentsPage },
  policies: { title: 'Policies', component: PoliciesPage },
  evidence: { title: 'Evidence', component: EvidencePage },
};

export function App({ config }) {
  const [signedIn, setSignedIn] = useState(() => currentToken() !== null);
  if (!signedIn) return html`<${SignIn} config=${config} onSignedIn=${() => setSignedIn(true)} />`;
  return html`<${Console} onSignOut=${() => { signOut(); setSignedIn(false); }} />`;
}

function SignIn({ config, onSignedIn }) {
  const [subject, setSubject] = useState('dev-approver');
  const [role, setRole] = useState('approver');
  const [error, setError] = useState(config.signInError ? new Error(config.signInError) : null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      await developmentSignIn(subject.trim(), role);
      onSignedIn();
    } catch (e) {
      setError(e);
    }
  };
  return html`
    <main class="sign-in">
      <h1>RuntimeAuthz console</h1>
      ${config.oidc && html`
        <p><button class="primary" id="oidc-sign-in" onClick=${() => oidcSignIn(config.oidc)}>Sign in with ${new URL(config.oidc.authority).host}</button></p>`}
      ${config.developmentLogin && html`
        <form onSubmit=${submit} aria-label="development sign-in">
          <p class="note">Development silo: tokens come from its development issuer (POST /dev/token). Never enable it elsewhere.</p>
          <label>Subject <input name="subject" value=${subject} onInput=${(e) => setSubject(e.target.value)} required maxlength="256" /></label>
          <label>Role
            <select name="role" value=${role} onChange=${(e) => setRole(e.target.value)}>
              ${config.roles.map((r) => html`<option value=${r}>${r}</option>`)}
            </select>
          </label>
          <button class="primary" type="submit">Sign in</button>
        </form>`}
      ${!config.oidc && !config.developmentLogin && html`
        <p class="problem">This silo has no sign-in for the console: configure Console:Oidc:ClientId (docs/configuration.md).</p>`}
      <${Problem} error=${error} />
    </main>`;
}

function Console({ onSignOut }) {
  const access = useLoad(() => api('/v1/console/access'), 'access');
  const route = useRoute();
  if (access.loading) return html`<${Loading} what="your access" />`;
  if (access.error) {
    if (access.error.status === 401) { onSignOut(); return null; }
    return html`
      <main class="refused">
        <h1>Not allowed</h1>
        <${Problem} error=${access.error} />
        <p>The console is for governance, approvers, responders, auditors and admins; agent and enforcement-point tokens cannot open it.</p>
        <button onClick=${onSignOut}>Sign out</button>
      </main>`;
  }
  const me = access.data;
  const allowed = me.pages.filter((p) => p.allowed).map((p) => p.name);
  const [name, ...rest] = route;
  const page = PAGES[name] && allowed.includes(name) ? name : null;
  if (!page && allowed.length > 0 && !PAGES[name]) { go(allowed[0]); return null; }
  const Page = page && PAGES[page].component;
  return html`
    <header>
      <strong>RuntimeAuthz</strong>
      <nav>
        ${allowed.map((p) => html`<a href=${'#/' + p} class=${p === page ? 'active' : ''}>${PAGES[p].title}</a>`)}
      </nav>
      <span class="me">${me.subject} (${me.roles.join(', ')})</span>
      <button onClick=${onSignOut}>Sign out</button>
    </header>
    <main>
      ${Page
        ? html`<${Page} path=${rest} roles=${me.roles} />`
        : html`<div class="refused"><h1>Not allowed</h1><p class="problem" role="alert">403 ${
            PAGES[name] ? `your roles do not hold ${me.pages.find((p) => p.name === name).permission}, which the ${name} page needs` : 'no page here'}</p></div>`}
    </main>`;
}
