// Evidence: verify a session's (or the governance) chain here in the browser, and see the first broken record highlighted.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { Loading, Problem, useLoad, go } from '../ui.js';
import { importKeys, verifyChain } from '../chain-verify.js';

export function EvidencePage({ path }) {
  const [target, setTarget] = useState(path[0] ?? '');
  return html`
    <h1>Evidence</h1>
    <form class="toolbar" aria-label="verify a chain" onSubmit=${(e) => { e.preventDefault(); if (target.trim()) go('evidence', target.trim()); }}>
      <label>Session id, or "governance" <input name="chain" value=${target} onInput=${(e) => setTarget(e.target.value)} /></label>
      <button class="primary" type="submit">Verify</button>
    </form>
    ${path[0] && html`<${ChainCheck} target=${path[0]} />`}`;
}

function ChainCheck({ target }) {
  const data = useLoad(async () => {
    const url = target === 'governance' ? '/v1/evidence/governance' : `/v1/evidence/sessions/${enc(target)}`;
    const [chain, keys] = await Promise.all([api(url), api('/v1/evidence/keys')]);
    return { chain, verdict: await verifyChain(chain, await importKeys(keys.keys)) };
  }, target);
  useEffect(() => {
    document.querySelector('tr.broken')?.scrollIntoView({ block: 'center' });
  }, [data.data]);
  if (data.loading) return html`<${Loading} what="and verifying the chain" />`;
  if (data.error) return html`<${Problem} error=${data.error} />`;
  const { chain, verdict } = data.data;
  const rowClass = (seq) => (verdict.valid || seq < verdict.brokenSeq ? 'verified' : seq === verdict.brokenSeq ? 'broken' : 'unverified');
  return html`
    <p id="verdict" class=${verdict.valid ? 'verdict ok' : 'verdict bad'} role="status">
      ${verdict.valid
        ? `${chain.chain}: OK, ${verdict.records} records (hashes, links and signatures verified here with the published public keys)`
        : `${chain.chain}: BROKEN at record ${verdict.brokenSeq}: ${verdict.problem}`}
    </p>
    <table class="records" aria-label="evidence records">
      <thead><tr><th>#</th><th>Time</th><th>Kind</th><th>Action</th><th>Resource</th><th>Outcome</th><th>Actor / reason</th><th>Hash</th></tr></thead>
      <tbody>
        ${chain.records.map((r) => {
          let body = {};
          try { body = JSON.parse(r.body); } catch { body = {}; }
          return html`
            <tr class=${rowClass(r.seq)} data-seq=${r.seq}>
              <td>${r.seq}</td><td>${body.time ?? ''}</td><td>${body.kind ?? '?'}</td><td>${body.action ?? ''}</td><td><code>${body.resource ?? ''}</code></td>
              <td>${body.outcome ?? ''}${body.denyReason ? ` (${body.denyReason})` : ''}</td><td>${body.actor ?? body.detail ?? ''}</td>
              <td><code>${r.hash.slice(0, 16)}…</code></td>
            </tr>`;
        })}
      </tbody>
    </table>
    ${!verdict.valid && verdict.brokenSeq > chain.records.length && html`<p class="problem">Record ${verdict.brokenSeq} is missing from the end of the chain.</p>`}
    <p class="note">Checkpoints (anchors of the chains' heads in a second store) are checked by <code>authz evidence verify</code>; see docs/evidence.md.</p>`;
}
