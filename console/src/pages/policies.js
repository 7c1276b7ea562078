// Policy versions: the text of each, the line diff between two of them, and rollback (a new version with the old texts).
import { useState } from 'preact/hooks';
import { diffLines } from 'diff';
import { html } from '../html.js';
import { api, enc, when } from '../api.js';
import { Loading, Problem, useAction, useLoad } from '../ui.js';

export function PoliciesPage() {
  const list = useLoad(() => api('/v1/policies'), 'policies');
  const [picked, setPicked] = useState({ from: null, to: null });
  if (list.loading) return html`<${Loading} what="policy versions" />`;
  if (list.error) return html`<${Problem} error=${list.error} />`;
  const versions = list.data;
  if (versions.length === 0) return html`<h1>Policies</h1><p class="note">No policy is published yet.</p>`;
  const to = picked.to ?? versions[0].version;
  const from = picked.from ?? (versions[1]?.version ?? to);
  return html`
    <h1>Policies</h1>
    <div class="toolbar">
      <label>From <select name="from" value=${from} onChange=${(e) => setPicked({ from: Number(e.target.value), to })}>
        ${versions.map((v) => html`<option value=${v.version}>${v.version}</option>`)}</select></label>
      <label>To <select name="to" value=${to} onChange=${(e) => setPicked({ from, to: Number(e.target.value) })}>
        ${versions.map((v) => html`<option value=${v.version}>${v.version}</option>`)}</select></label>
    </div>
    <div class="split">
      <section class="list">
        <table aria-label="policy versions">
          <thead><tr><th>Version</th><th>Published</th><th>Author</th><th>Policies</th><th>Note</th></tr></thead>
          <tbody>
            ${versions.map((v, i) => html`
              <tr class=${v.version === to ? 'selected clickable' : 'clickable'} data-version=${v.version}
                  onClick=${() => setPicked({ from: versions[i + 1]?.version ?? v.version, to: v.version })}>
                <td>${v.version}${i === 0 ? ' (current)' : ''}</td><td>${when(v.publishedAt)}</td><td>${v.author}</td><td>${v.policyCount}</td>
                <td>${v.rolledBackFrom ? `rollback to ${v.rolledBackFrom}` : ''}${v.note ? ` ${v.note}` : ''}</td>
              </tr>`)}
          </tbody>
        </table>
      </section>
      <section class="detail">
        <${VersionDiff} from=${from} to=${to} current=${versions[0].version} onRolledBack=${() => { setPicked({ from: null, to: null }); list.reload(); }} />
      </section>
    </div>`;
}

const CONTEXT = 3;

/** The lines of one diff part; a long unchanged run between changes is cut to its first and last lines. */
function diffLinesOf(part, changed) {
  const lines = part.value.replace(/\n$/, '').split('\n');
  if (part.added || part.removed || !changed || lines.length <= 2 * CONTEXT + 1) return lines;
  return [...lines.slice(0, CONTEXT), `… ${lines.length - 2 * CONTEXT} unchanged lines …`, ...lines.slice(-CONTEXT)];
}

function VersionDiff({ from, to, current, onRolledBack }) {
  const texts = useLoad(async () => {
    const [a, b] = await Promise.all([api(`/v1/policies/${enc(from)}`), api(`/v1/policies/${enc(to)}`)]);
    return { a, b };
  }, `${from}-${to}`);
  const [note, setNote] = useState('');
  const rollback = useAction();
  if (texts.loading) return html`<${Loading} what="the versions" />`;
  if (texts.error) return html`<${Problem} error=${texts.error} />`;
  const { a, b } = texts.data;
  const parts = diffLines(a.policies, b.policies);
  const changed = parts.some((p) => p.added || p.removed);
  const target = to === current ? from : to;
  const submit = () => rollback.run(async () => {
    await api('/v1/policies/rollback', { method: 'POST', body: note.trim() ? { version: target, note: note.trim() } : { version: target } });
    setNote('');
    onRolledBack();
  });
  return html`
    <h2>Version ${from} → ${to}</h2>
    <p class="note">${b.author} published ${to} at ${when(b.publishedAt)}${b.note ? `: ${b.note}` : ''}</p>
    ${!changed && html`<p class="note">The policy texts are the same.</p>`}
    <pre class="diff" aria-label="policy diff">${parts.map((p) => html`<span class=${p.added ? 'diff-add' : p.removed ? 'diff-del' : 'diff-same'}>${
      diffLinesOf(p, changed).map((line) => `${p.added ? '+ ' : p.removed ? '- ' : '  '}${line}\n`).join('')}</span>`)}</pre>
    ${target !== current && html`
      <div class="rollback">
        <label>Note <input name="rollbackNote" value=${note} maxlength="1024" onInput=${(e) => setNote(e.target.value)} /></label>
        <button class="danger" disabled=${rollback.busy} onClick=${submit}>Roll back to version ${target}</button>
        <span class="note">publishes version ${target}'s texts as a new version</span>
      </div>`}
    <${Problem} error=${rollback.error} />`;
}
