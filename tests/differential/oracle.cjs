#!/usr/bin/env node
// Differential-test oracle: answers authorization requests with the real Cedar engine
// (@cedar-policy/cedar-wasm, resolved from the repository root's node_modules).
//
// stdin:  JSON array of cases
//         { policies: string | {id: text}, templates?: {id: text}, templateLinks?: [{templateId, newId, values}],
//           entities: [...], principal, action, resource, context, schema?: human-readable schema text }
//         (with a schema, entities and context are read through it; the request itself is not validated)
//         (a policies string is named policy0..N by Cedar; a map keeps the given ids)
// stdout: JSON array, one per case, in order:
//         { decision: "allow"|"deny", reason: [ids], errors: [ids], errorMessages: [text] }
//         or { failure: [messages] } when cedar-wasm could not even evaluate the request.
//         A case with validateOnly: true (policies + schema) is validated instead (strict mode):
//         { invalid: [ids of policies with validation errors], messages: [text] }
'use strict';
const path = require('path');

function loadCedar() {
  const repoRoot = path.resolve(__dirname, '..', '..');
  return require(require.resolve('@cedar-policy/cedar-wasm/nodejs', { paths: [repoRoot] }));
}

function readStdin() {
  const chunks = [];
  const fs = require('fs');
  const buffer = Buffer.alloc(1 << 16);
  let n;
  for (;;) {
    try {
      n = fs.readSync(0, buffer, 0, buffer.length, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      if (e.code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function main() {
  const cedar = loadCedar();
  const cases = JSON.parse(readStdin());
  const results = cases.map((c) => {
    if (c.validateOnly) {
      const v = cedar.validate({ schema: c.schema, policies: { staticPolicies: c.policies, templates: c.templates ?? {} } });
      if (v.type !== 'success') return { failure: v.errors.map((e) => e.message) };
      return {
        invalid: [...new Set(v.validationErrors.map((e) => e.policyId))].sort(),
        messages: v.validationErrors.map((e) => `${e.policyId}: ${e.error.message}`),
      };
    }
    const answer = cedar.isAuthorized({
      principal: c.principal,
      action: c.action,
      resource: c.resource,
      context: c.context ?? {},
      policies: { staticPolicies: c.policies, templates: c.templates ?? {}, templateLinks: c.templateLinks ?? [] },
      entities: c.entities ?? [],
      ...(c.schema ? { schema: c.schema, validateRequest: false } : {}),
    });
    if (answer.type !== 'success') {
      return { failure: answer.errors.map((e) => e.message) };
    }
    const d = answer.response.diagnostics;
    return {
      decision: answer.response.decision,
      reason: [...d.reason].sort(),
      errors: d.errors.map((e) => e.policyId).sort(),
      errorMessages: d.errors.map((e) => `${e.policyId}: ${e.error.message}`),
    };
  });
  process.stdout.write(JSON.stringify(results));
}

main();
