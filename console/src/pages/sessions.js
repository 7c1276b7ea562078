// Sessions: search (GET /v1/sessions), then one session's timeline with every decision, its outcome and reason, and its risk over time.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc, when } from '../api.js';
import { Loading, Problem, useAction, useLoad, go } from '../ui.js';
import { RiskChart, riskSeries } from '../risk-chart.js';

export function SessionsPage({ path }) {
  return path[0] ? html`<${SessionView} id=${path[0]} />` : html`<${SessionSearch} />`;
}

const FILTERS = ['agent', 'fleet', 'status', 'minRisk', 'policyVersion', 'openedAfter', 'openedBefore', 'activeAfter', 'activeBefore'];

function SessionSearch() {
  const [filters, setFilters] = useState({ status: '', hasDenies: false });
  const [pages, setPages] = useState(null);
  const [openId, setOpenId] = useState('');
  const search = useAction();
  const set = (name) => (e) => setFilters({ ...filters, [name]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });

  const query = (continuation) => {
    const q = new URLSearchParams();
    for (const name of FILTERS) {
      const value = (filters[name] ?? '').toString().trim();
      if (!value) continue;
      q.set(name, name.endsWith('After') || name.endsWith('Before') ? new Date(value + 'Z').toISOString() : value);
    }
    if (filters.hasDenies) q.set('hasDenies', 'true');
    q.set('limit', '50');
    if (continuation) q.set('continuation', continuation);
    return `/v1/sessions?${q}`;
  };
  const run = (event) => {
    event?.preventDefault();
    search.run(async () => setPages([await api(query())]));
  };
  const more = () => search.run(async () => setPages([...pages, await api(query(pages.at(-1).continuation))]));
  const items = pages ? pages.flatMap((p) => p.items) : [];

  return html`
    <h1>Sessions</h1>
    <form class="filters" onSubmit=${run} aria-label="session search">
      <label>Agent <input name="agent" value=${filters.agent ?? ''} onInput=${set('agent')} /></label>
      <label>Fleet <input name="fleet" value=${filters.fleet ?? ''} onInput=${set('fleet')} /></label>
      <label>Status
        <select name="status" value=${filters.status} onChange=${set('status')}>
          ${['', 'open', 'closed', 'expired'].map((s) => html`<option value=${s}>${s || 'any'}</option>`)}
        </select>
      </label>
      <label>Min risk <input name="minRisk" type="number" min="0" value=${filters.minRisk ?? ''} onInput=${set('minRisk')} /></label>
      <label>Policy version <input name="policyVersion" type="number" min="1" value=${filters.policyVersion ?? ''} onInput=${set('policyVersion')} /></label>
      <label>Opened after (UTC) <input name="openedAfter" type="datetime-local" value=${filters.openedAfter ?? ''} onInput=${set('openedAfter')} /></label>
      <label>Active after (UTC) <input name="activeAfter" type="datetime-local" value=${filters.activeAfter ?? ''} onInput=${set('activeAfter')} /></label>
      <label class="check"><input name="hasDenies" type="checkbox" checked=${filters.hasDenies} onChange=${set('hasDenies')} /> has denies</label>
      <button class="primary" type="submit" disabled=${search.busy}>Search</button>
    </form>
    <form class="open-by-id" onSubmit=${(e) => { e.preventDefault(); if (openId.trim()) go('sessions', openId.trim()); }}>
      <label>Or open a session by id <input name="sessionId" value=${openId} onInput=${(e) => setOpenId(e.target.value)} /></label>
      <button type="submit">Open</button>
    </form>
    <${Problem} error=${search.error} />
    ${pages && html`
      <table aria-label="sessions found">
        <thead><tr><th>Session</th><th>Agent</th><th>Fleet</th><th>Status</th><th>Opened</th><th>Last activity</th><th>Risk</th><th>Decisions</th><th>Denies</th><th>Policy</th></tr></thead>
        <tbody>
          ${items.length === 0 && html`<tr><td colspan="10" class="empty">No session matches.</td></tr>`}
          ${items.map((s) => html`
            <tr class=${s.denies > 0 ? 'clickable denied' : 'clickable'} data-session=${s.sessionId} onClick=${() => go('sessions', s.sessionId)}>
              <td><code>${s.sessionId}</code></td><td>${s.agentId}</td><td>${s.fleet}</td><td>${s.status}</td>
              <td>${when(s.openedAt)}</td><td>${when(s.lastActivityAt)}</td><td>${s.cumulativeRisk}</td>
              <td>${s.decisions}</td><td>${s.denies}</td><td>${s.lastPolicyVersion ?? ''}</td>
            </tr>`)}
        </tbody>
      </table>
      ${pages.at(-1).continuation && html`<button onClick=${more} disabled=${search.busy}>More</button>`}`}`;
}

/** Every timeline event of the session (pages of 1,000, at most 10,000 events shown). */
async function loadTimeline(id) {
  const events = [];
  let after = 0;
  for (let page = 0; page < 10 && after !== null; page++) {
    const reply = await api(`/v1/sessions/${enc(id)}/timeline?after=${after}&limit=1000`);
    events.push(...reply.events);
    after = reply.nextAfter ?? null;
  }
  return events;
}

/** The risk series from the evidence chain; null with a reason when the caller may not read evidence. */
async function loadRisk(id) {
  try {
    const chain = await api(`/v1/evidence/sessions/${enc(id)}`);
    return { points: riskSeries(chain.records) };
  } catch (e) {
    if (e.status === 403) return { points: null, note: 'The risk chart is read from the evidence chain, which needs evidence:read (responder, auditor, admin).' };
    throw e;
  }
}

function SessionView({ id }) {
  const data = useLoad(async () => {
    const [session, events, risk] = await Promise.all([api(`/v1/sessions/${enc(id)}`), loadTimeline(id), loadRisk(id)]);
    return { session, events, risk };
  }, id);
  if (data.loading) return html`<${Loading} what=${'session ' + id} />`;
  if (data.error) return html`<p><a href="#/sessions">← search</a></p><${Problem} error=${data.error} />`;
  const { session: s, events, risk } = data.data;
  return html`
    <p><a href="#/sessions">← search</a></p>
    <h1>Session <code>${s.id}</code></h1>
    <dl class="summary">
      <dt>Agent</dt><dd><a href=${'#/agents/' + enc(s.agentId)}>${s.agentId}</a></dd>
      <dt>Status</dt><dd>${s.status}${s.closeReason ? ` (${s.closeReason})` : ''}</dd>
      <dt>Opened</dt><dd>${when(s.openedAt)}</dd>
      <dt>Last activity</dt><dd>${when(s.lastActivityAt)}</dd>
      <dt>Cumulative risk</dt><dd id="session-risk">${s.cumulativeRisk}</dd>
      <dt>Decisions</dt><dd>${s.decisionCount}</dd>
    </dl>
    <h2>Cumulative risk</h2>
    ${risk.points ? html`<${RiskChart} points=${risk.points} />` : html`<p class="note">${risk.note}</p>`}
    <h2>Timeline</h2>
    <table class="timeline" aria-label="timeline">
      <thead><tr><th>#</th><th>At</th><th>Kind</th><th>Action</th><th>Resource</th><th>Outcome</th><th>Reason</th><th>Policy</th></tr></thead>
      <tbody>
        ${events.map((e) => html`
          <tr class=${e.outcome === 'Deny' ? 'denied' : e.outcome === 'ApprovalRequired' ? 'held' : ''} data-seq=${e.seq}>
            <td>${e.seq}</td><td>${when(e.at)}</td><td>${e.kind}</td><td>${e.action}</td><td><code>${e.resource}</code></td>
            <td class="outcome">${e.outcome ?? ''}</td>
            <td>${[e.detail, ...(e.reasons ?? [])].filter(Boolean).join(' · ')}</td>
            <td>${e.policyVersion ?? ''}</td>
          </tr>`)}
      </tbody>
    </table>`;
}
