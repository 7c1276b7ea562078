// How many index entries Azurite's table store moves to take the session index's rows, in the order the
// sessions-search bench writes them (docs/benchmarks.md, "Why seeding slows as the table grows").
//
// Azurite keeps each table in a LokiJS collection with adaptive binary indices on PartitionKey and RowKey: sorted
// arrays of positions into which every insert splices at the first entry whose key is >= its own, moving all later
// entries. This counts those moves (Fenwick trees over key ranks) for the rows the bench seeds: per session the agent
// partition's pointer (`~<session>`) and listing row, and the service-wide and fleet day rows (SessionIndex's layout),
// sessions in chunks grouped by partition in first-appearance order as SessionIndex.BulkWriteAsync sends them.
//
//   node --max-old-space-size=8000 SessionSearchIndexMoves.js [sessions=1000000] [chunk=50000] [bench|aligned] [sorted]
//
// `bench`: activity spread at random over 7 days (as the bench); `aligned`: activity falling with the session number,
// so agents and fleets take their rows in time order; `sorted`: the rows in (PartitionKey, RowKey) order, the least
// any order can move for these rows. Key shapes follow SessionIndex (the service-id prefix is the same on every
// partition key and so leaves the order unchanged); the shard and activity hashes differ from the bench's but are as uniform.
const sessions = +process.argv[2] || 1000000, chunk = +process.argv[3] || 50000, mode = process.argv[4] || 'bench';
const agents = 10000, fleets = 20, days = 7, count = 1000000;
const prefix = 'svc|', now = Date.UTC(2026, 11, 1, 20, 0, 0), maxTicks = 3155378975999999999n; // DateTime.MaxValue.Ticks
function hash(i) { let x = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) >>> 0; x ^= x >>> 13; return Math.imul(x, 0xc2b2ae35) >>> 0; }
function rows(i) {
  const back = mode === 'aligned' ? Math.floor(i * days * 86400 / count) : hash(i) % (days * 86400);
  const activity = now - back * 1000;
  const inverted = (maxTicks - (BigInt(activity) * 10000n + 621355968000000000n)).toString().padStart(19, '0');
  const session = 's' + String(i).padStart(8, '0'), agent = Math.floor(i * agents / count), fleet = Math.floor(agent * fleets / agents);
  const day = new Date(activity).toISOString().slice(0, 10).replace(/-/g, ''), shard = hash(i * 7) % 8;
  const agentPartition = prefix + 'ag|search-agent-' + String(agent).padStart(6, '0'), listing = inverted + '|' + session;
  return [[agentPartition, '~' + session], [agentPartition, listing], [prefix + 'all|' + day + '|' + shard, listing],
    [prefix + 'fl:fleet-' + String(fleet).padStart(2, '0') + '|' + day + '|' + shard, listing]];
}
const order = [];
for (let start = 0; start < sessions; start += chunk) {
  const groups = new Map();
  for (let i = start; i < Math.min(start + chunk, sessions); i++)
    for (const row of rows(i)) { if (!groups.has(row[0])) groups.set(row[0], []); groups.get(row[0]).push(row); }
  for (const group of groups.values()) for (const row of group) order.push(row);
}
const byKeys = (a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
if (process.argv[5] === 'sorted') order.sort(byKeys);
const moved = [0, 1].map(k => {
  const distinct = [...new Set(order.map(r => r[k]))].sort();
  const rank = new Map(distinct.map((v, i) => [v, i + 1]));
  const tree = new Float64Array(distinct.length + 1);
  let total = 0;
  order.forEach((row, j) => {
    const r = rank.get(row[k]);
    let below = 0;
    for (let x = r - 1; x > 0; x -= x & -x) below += tree[x];
    total += j - below; // entries already there with a key >= this row's
    for (let x = r; x < tree.length; x += x & -x) tree[x]++;
  });
  return total;
});
console.log(`${mode}${process.argv[5] === 'sorted' ? ' sorted' : ''}, ${sessions} sessions in chunks of ${chunk} (${order.length} rows): ` +
  `entries moved in the PartitionKey index ${moved[0].toExponential(3)}, RowKey index ${moved[1].toExponential(3)}, ` +
  `both ${(moved[0] + moved[1]).toExponential(3)}; in random order both would move about ${(order.length ** 2 / 2).toExponential(3)}`);
