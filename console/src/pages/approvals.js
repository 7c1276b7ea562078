// Approvals queue: the held calls, each with the exact call, the session's risk and a timeline excerpt; approve or reject with a reason.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc, when } from '../api.js';
import { Loading, Problem, useAction, useLoad, go } from '../ui.js';

export function ApprovalsPage({ path }) {
  const [status, setStatus] = useState('pending');
  const list = useLoad(() => api(`/v1/approvals?status=${enc(status)}&limit=200`), status);
  const selected = path[0];
  return html`
    <h1>Approvals</h1>
    <div class="split">
      <section class="list" aria-label="approval requests">
        <div class="toolbar">
          <label>Status
            <select name="status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
              ${['pending', 'approved', 'rejected', 'consumed', 'expired', 'cancelled'].map((s) => html`<option>${s}</option>`)}
            </select>
          </label>
          <button onClick=${list.reload}>Refresh</button>
        </div>
        <${Problem} error=${list.error} />
        ${list.loading ? html`<${Loading} what="approval requests" />` : html`
          <table>
            <thead><tr><th>Agent</th><th>Action</th><th>Resource</th><th>Requested</th><th>Approvals</th></tr></thead>
            <tbody>
              ${list.data.length === 0 && html`<tr><td colspan="5" class="empty">No ${status} requests.</td></tr>`}
              ${list.data.map((a) => html`
                <tr class=${a.id === selected ? 'selected clickable' : 'clickable'} data-approval=${a.id} onClick=${() => go('approvals', a.id)}>
                  <td>${a.agentId}</td><td>${a.action}</td><td><code>${a.resource}</code></td>
                  <td>${when(a.requestedAt)}</td><td>${a.approvals}/${a.requiredApprovals}</td>
                </tr>`)}
            </tbody>
          </table>`}
      </section>
      <section class="detail">
        ${selected ? html`<${ApprovalDetail} id=${selected} onDecided=${list.reload} />` : html`<p class="note">Pick a request to see the held call.</p>`}
      </section>
    </div>`;
}

function ApprovalDetail({ id, onDecided }) {
  const approval = useLoad(() => api(`/v1/approvals/${enc(id)}`), id);
  const [reason, setReason] = useState('');
  const action = useAction();
  if (approval.loading) return html`<${Loading} what="the request" />`;
  if (approval.error) return html`<${Problem} error=${approval.error} />`;
  const a = approval.data;
  const decide = (verb) => action.run(async () => {
    const body = verb === 'approve' ? (reason.trim() ? { comment: reason.trim() } : {}) : { reason: reason.trim() };
    await api(`/v1/approvals/${enc(id)}/${verb}`, { method: 'POST', body });
    setReason('');
    approval.reload();
    onDecided();
  });
  return html`
    <article class="approval" aria-label="approval request">
      <h2>${a.action} on <code>${a.resource}</code></h2>
      <dl>
        <dt>Status</dt><dd class=${'status-' + a.status} id="approval-status">${a.status}</dd>
        <dt>Agent</dt><dd>${a.agentId}</dd>
        <dt>Session</dt><dd><a href=${'#/sessions/' + enc(a.sessionId)}>${a.sessionId}</a></dd>
        <dt>Session risk</dt><dd>${a.sessionRisk}</dd>
        <dt>Policy</dt><dd>version ${a.policyVersion}: ${a.determiningPolicies.join(', ')}</dd>
        <dt>Requested</dt><dd>${when(a.requestedAt)} by ${a.requester}</dd>
        <dt>Expires</dt><dd>${when(a.expiresAt)}</dd>
        <dt>Who may approve</dt><dd>${a.whoMayApprove}</dd>
        <dt>Approvals</dt><dd>${a.approvals.length}/${a.requiredApprovals}${a.approvals.map((v) => html` · ${v.approver}${v.comment ? ` ("${v.comment}")` : ''}`)}</dd>
        ${a.reason && html`<dt>Reason</dt><dd>${a.reason}</dd>`}
        <dt>Binding digest</dt><dd><code>${a.bindingDigest}</code></dd>
      </dl>
      <h3>The exact call</h3>
      <pre class="call" aria-label="held call">${JSON.stringify(a.call, null, 2)}</pre>
      <h3>Timeline excerpt</h3>
      ${a.timeline.length === 0
        ? html`<p class="note">No earlier decisions in this session.</p>`
        : html`<ol class="excerpt">${a.timeline.map((line) => html`<li>${line}</li>`)}</ol>`}
      ${a.status === 'pending' && html`
        <div class="decide">
          <label>Reason or comment <textarea name="reason" maxlength="1024" value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>
          <button class="primary" disabled=${action.busy} onClick=${() => decide('approve')}>Approve</button>
          <button class="danger" disabled=${action.busy || !reason.trim()} title="a rejection needs a reason" onClick=${() => decide('reject')}>Reject</button>
        </div>`}
      <${Problem} error=${action.error} />
    </article>`;
}
