// Verifies an evidence chain in the browser with public keys only, the checks `authz evidence verify` makes for one chain:
// position (no gaps), SHA-256 of the stored body, RFC 8785 canonical form, chain and sequence inside the record, the link
// to the previous record, the key id, and the ECDSA P-256 signature (WebCrypto). The first failing record is reported.

const GENESIS = '0'.repeat(64);
const utf8 = new TextEncoder();

/** RFC 8785 (JCS): members sorted by UTF-16 code units, ECMAScript number and string forms (those of JSON.stringify). */
export function canonicalize(value) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(',')}}`;
}

async function sha256Hex(text) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function base64UrlBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export async function importKeys(keys) {
  const imported = new Map();
  for (const { keyId, publicKeyPem } of keys) {
    const der = base64UrlBytes(publicKeyPem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '').replace(/\+/g, '-').replace(/\//g, '_'));
    imported.set(keyId, await crypto.subtle.importKey('spki', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']));
  }
  return imported;
}

async function signatureHolds(key, body, signature) {
  let bytes;
  try { bytes = base64UrlBytes(signature); } catch { return false; }
  // WebCrypto's ECDSA signatures are IEEE P1363 r||s, the stored form.
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, bytes, utf8.encode(body));
}

/** {valid, records, brokenSeq?, problem?} for the chain as served by GET /v1/evidence/... */
export async function verifyChain({ chain, minimumRecords = 0, records }, keys) {
  let previous = GENESIS;
  for (let i = 0; i < records.length; i++) {
    const entry = records[i];
    const expected = i + 1;
    const broken = (seq, problem) => ({ valid: false, records: records.length, brokenSeq: seq, problem });
    if (entry.seq !== expected) {
      return entry.seq > expected
        ? broken(expected, `record ${expected} is missing (the next stored row is ${entry.seq})`)
        : broken(entry.seq, `row ${entry.seq} is out of order (expected ${expected})`);
    }
    let body;
    try { body = JSON.parse(entry.body); } catch (e) { return broken(expected, `body is not a valid record: ${e.message}`); }
    if ((await sha256Hex(entry.body)) !== entry.hash) return broken(expected, 'content does not match its hash (the record was changed)');
    if (canonicalize(body) !== entry.body) return broken(expected, 'body is not in canonical form');
    if (body.chain !== chain) return broken(expected, `record belongs to chain '${body.chain}' (moved between chains)`);
    if (body.seq !== entry.seq) return broken(expected, `row ${entry.seq} holds record ${body.seq} (rows reordered)`);
    if (body.prevHash !== previous) return broken(expected, 'previous-hash link does not match the preceding record (a record before it was changed, removed or reordered)');
    if (body.keyId !== entry.keyId) return broken(expected, `signed key id '${body.keyId}' differs from the row's key id '${entry.keyId}'`);
    const key = keys.get(body.keyId);
    if (!key) return broken(expected, `signing key '${body.keyId}' is unknown (no public key for it)`);
    if (!(await signatureHolds(key, entry.body, entry.signature))) return broken(expected, `signature does not verify with key '${body.keyId}'`);
    previous = entry.hash;
  }
  if (records.length < minimumRecords) {
    return { valid: false, records: records.length, brokenSeq: records.length + 1,
      problem: `record ${records.length + 1} is missing: the chain ends after ${records.length} records but at least ${minimumRecords} were written` };
  }
  return { valid: true, records: records.length };
}
