// Agents: each agent's grants as a delegation tree with expiries, the suspend switch, and revocation with its cascade shown first.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc, when } from '../api.js';
import { Loading, Problem, useAction, useLoad, go } from '../ui.js';

export function AgentsPage({ path, roles }) {
  return path[0] ? html`<${AgentView} id=${path[0]} roles=${roles} />` : html`<${AgentList} />`;
}

function AgentList() {
  const [pages, setPages] = useState([]);
  const list = useLoad(async () => { const first = await api('/v1/agents?limit=200'); setPages([first]); return first; }, 'agents');
  const more = useAction();
  if (list.loading) return html`<${Loading} what="agents" />`;
  if (list.error) return html`<${Problem} error=${list.error} />`;
  const agents = pages.flatMap((p) => p.agents);
  const next = pages.at(-1)?.continuation;
  return html`
    <h1>Agents</h1>
    <table aria-label="agents">
      <thead><tr><th>Agent</th><th>Name</th><th>Owner</th><th>Fleet</th><th>Status</th><th>Grants</th></tr></thead>
      <tbody>
        ${agents.map((a) => html`
          <tr class="clickable" data-agent=${a.id} onClick=${() => go('agents', a.id)}>
            <td>${a.id}</td><td>${a.name}</td><td>${a.owner}</td><td>${a.fleet}</td>
            <td class=${'status-' + a.status}>${a.status}</td><td>${a.delegations.length}</td>
          </tr>`)}
      </tbody>
    </table>
    ${next && html`<button disabled=${more.busy} onClick=${() => more.run(async () => setPages([...pages, await api(`/v1/agents?limit=200&continuation=${enc(next)}`)]))}>More</button>`}
    <${Problem} error=${more.error} />`;
}

/** Each of the agent's grants with the grants derived from it (read from the revocation preview, which walks the same links). */
async function loadTree(agentId, grants) {
  return Promise.all(grants.map(async (grant) => {
    const preview = await api(`/v1/agents/${enc(agentId)}/grants/${enc(grant.id)}/revocation-preview`);
    return { grant, preview };
  }));
}

function AgentView({ id, roles }) {
  const data = useLoad(async () => {
    const [agent, grants] = await Promise.all([api(`/v1/agents/${enc(id)}`), api(`/v1/agents/${enc(id)}/grants`)]);
    return { agent, grants, tree: await loadTree(id, grants.grants) };
  }, id);
  const [reason, setReason] = useState('');
  const status = useAction();
  if (data.loading) return html`<${Loading} what=${'agent ' + id} />`;
  if (data.error) return html`<p><a href="#/agents">← agents</a></p><${Problem} error=${data.error} />`;
  const { agent: a, grants, tree } = data.data;
  const canActivate = roles.includes('governance') || roles.includes('admin');
  const setStatus = (value) => status.run(async () => {
    await api(`/v1/agents/${enc(id)}/status`, { method: 'POST', body: { status: value, reason: reason.trim() } });
    setReason('');
    data.reload();
  });
  return html`
    <p><a href="#/agents">← agents</a></p>
    <h1>Agent ${a.id}</h1>
    <dl class="summary">
      <dt>Name</dt><dd>${a.name}</dd><dt>Owner</dt><dd>${a.owner}</dd><dt>Fleet</dt><dd>${a.fleet}</dd>
      <dt>Status</dt><dd id="agent-status" class=${'status-' + a.status}>${a.status}${a.statusReason ? ` (${a.statusReason}, by ${a.statusChangedBy})` : ''}</dd>
    </dl>
    ${a.status !== 'revoked' && html`
      <div class="kill-switch">
        <label>Reason <input name="statusReason" value=${reason} maxlength="1024" onInput=${(e) => setReason(e.target.value)} /></label>
        ${a.status === 'active'
          ? html`<button class="danger" disabled=${status.busy || !reason.trim()} onClick=${() => setStatus('suspended')}>Suspend agent</button>`
          : canActivate && html`<button disabled=${status.busy || !reason.trim()} onClick=${() => setStatus('active')}>Activate agent</button>`}
      </div>`}
    <${Problem} error=${status.error} />
    <h2>Delegation tree</h2>
    ${tree.length === 0 && html`<p class="note">No current grants.</p>`}
    <ul class="tree" aria-label="delegation tree">
      ${tree.map(({ grant, preview }) => html`<${GrantNode} agentId=${id} grant=${grant} preview=${preview} onRevoked=${data.reload} />`)}
    </ul>
    ${grants.revoked.length > 0 && html`
      <h2>Recently revoked</h2>
      <ul class="revoked">${grants.revoked.map((g) => html`<li><${GrantLine} grant=${g} /> — ${when(g.revokedAt)} by ${g.revokedBy}: ${g.revokeReason}</li>`)}</ul>`}`;
}

function GrantLine({ grant: g, agentId }) {
  return html`
    <span class=${'grant status-' + g.status}>
      ${agentId && html`<strong>${agentId}</strong>: `}
      <code>${g.actions.join(', ')}</code> on <code>${g.resources.join(', ')}</code>
      <span class="expiry">${g.status}, expires ${when(g.expiresAt)}</span>
      <span class="by">${g.delegatorAgentId ? `sub-delegated by ${g.delegatorAgentId}` : `granted by ${g.grantedBy}`}${g.purpose ? ` for "${g.purpose}"` : ''}</span>
    </span>`;
}

/** A grant and, nested under it, every grant derived from it (other agents' sub-delegations). */
function GrantNode({ agentId, grant, preview, onRevoked }) {
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const revoke = useAction();
  const children = (parentId) => preview.grants.filter((g) => g.grant.parentGrantId === parentId);
  const branch = (parentId) => html`
    <ul>${children(parentId).map((c) => html`<li data-grant=${c.grant.id}><${GrantLine} grant=${c.grant} agentId=${c.agentId} />${branch(c.grant.id)}</li>`)}</ul>`;
  const cutOff = preview.grants.filter((g) => g.grant.id !== grant.id);
  const submit = () => revoke.run(async () => {
    const result = await api(`/v1/agents/${enc(agentId)}/grants/${enc(grant.id)}/revoke`, { method: 'POST', body: { reason: reason.trim() } });
    setConfirming(false);
    onRevoked(result);
  });
  return html`
    <li data-grant=${grant.id}>
      <${GrantLine} grant=${grant} />
      ${grant.parentGrantId && html`<span class="note"> (from grant ${grant.parentGrantId})</span>`}
      <button class="small" onClick=${() => setConfirming(!confirming)}>Revoke…</button>
      ${confirming && html`
        <div class="cascade" role="dialog" aria-label="revocation preview">
          <p><strong>Revoking this grant cuts off ${preview.count} grant${preview.count === 1 ? '' : 's'} of ${preview.agents.length} agent${preview.agents.length === 1 ? '' : 's'}</strong>
            ${preview.truncated ? ' (the cascade is deeper than the walk limit; more may follow)' : ''}:</p>
          <ul class="cut-off">
            <li><${GrantLine} grant=${grant} agentId=${agentId} /></li>
            ${cutOff.map((g) => html`<li data-cut=${g.grant.id}><${GrantLine} grant=${g.grant} agentId=${g.agentId} /></li>`)}
          </ul>
          <label>Reason <input name="revokeReason" value=${reason} maxlength="1024" onInput=${(e) => setReason(e.target.value)} /></label>
          <button class="danger" disabled=${revoke.busy || !reason.trim()} onClick=${submit}>Revoke ${preview.count} grant${preview.count === 1 ? '' : 's'}</button>
          <${Problem} error=${revoke.error} />
        </div>`}
      ${branch(grant.id)}
    </li>`;
}
