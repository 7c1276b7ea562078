#!/usr/bin/env node
// Times @cedar-policy/cedar-wasm on a request mix with a preparsed policy set
// (preparsePolicySet + statefulIsAuthorized), single thread.
// stdin:  { policies: "<policy text>", requests: [{principal, action, resource, context, entities}],
//           warmupMs, measureMs }
// stdout: { decisions: ["allow"|"deny" per request], count, seconds, p50Us, p90Us, p99Us }
'use strict';
const path = require('path');
const fs = require('fs');

const repoRoot = path.resolve(__dirname, '..');
const cedar = require(require.resolve('@cedar-policy/cedar-wasm/nodejs', { paths: [repoRoot] }));

const job = JSON.parse(fs.readFileSync(0, 'utf8'));
const parsed = cedar.preparsePolicySet('bench', { staticPolicies: job.policies });
if (parsed.type !== 'success') {
  process.stderr.write(JSON.stringify(parsed.errors));
  process.exit(2);
}
const calls = job.requests.map((r) => ({
  principal: r.principal,
  action: r.action,
  resource: r.resource,
  context: r.context,
  entities: r.entities,
  preparsedPolicySetId: 'bench',
}));

function decide(call) {
  const answer = cedar.statefulIsAuthorized(call);
  if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors));
  return answer.response.decision;
}

const decisions = calls.map(decide);

const now = () => process.hrtime.bigint();
let end = now() + BigInt(job.warmupMs) * 1000000n;
let i = 0;
while (now() < end) decide(calls[i++ % calls.length]);

const latencies = [];
const start = now();
end = start + BigInt(job.measureMs) * 1000000n;
let t = start;
while (t < end) {
  decide(calls[i++ % calls.length]);
  const t2 = now();
  latencies.push(Number(t2 - t) / 1000);
  t = t2;
}
const seconds = Number(t - start) / 1e9;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
process.stdout.write(JSON.stringify({
  decisions, count: latencies.length, seconds, p50Us: pct(0.5), p90Us: pct(0.9), p99Us: pct(0.99),
}));
