// Cumulative risk of a session over time (Chart.js), from the riskAdded of each decision record in its evidence chain.
import { useEffect, useRef } from 'preact/hooks';
import { Chart, LineController, LineElement, PointElement, LinearScale, Tooltip, Filler } from 'chart.js';
import { html } from './html.js';
import { when } from './api.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Filler);

/** Points {x: ms, y: cumulative risk} from the chain's stored records (superseded decisions count as what replaced them). */
export function riskSeries(records) {
  const bodies = records.map((r) => { try { return JSON.parse(r.body); } catch { return null; } }).filter(Boolean);
  const superseded = new Set(bodies.filter((b) => b.supersedes != null).map((b) => b.supersedes));
  let total = 0;
  const points = [];
  for (const body of bodies) {
    if (body.kind !== 'decision' || superseded.has(body.seq)) continue;
    total += body.riskAdded ?? 0;
    points.push({ x: Date.parse(body.time), y: total, outcome: body.outcome, action: body.action });
  }
  return points;
}

/** Tick labels: seconds, with milliseconds when the whole session spans less than a minute. */
function timeOfDay(points) {
  const span = points.length > 1 ? points.at(-1).x - points[0].x : 0;
  return (ms) => new Date(ms).toISOString().slice(11, span < 60_000 ? 23 : 19);
}

export function RiskChart({ points }) {
  const canvas = useRef(null);
  useEffect(() => {
    const tick = timeOfDay(points);
    const chart = new Chart(canvas.current, {
      type: 'line',
      data: {
        datasets: [{
          label: 'cumulative risk',
          data: points,
          stepped: true,
          fill: true,
          borderColor: '#b3541e',
          backgroundColor: 'rgba(179, 84, 30, 0.12)',
          pointBackgroundColor: points.map((p) => (p.outcome === 'Deny' ? '#b00020' : '#b3541e')),
        }],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { type: 'linear', ticks: { callback: tick, maxTicksLimit: 8 } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
        plugins: {
          tooltip: { callbacks: { label: (c) => `${c.raw.action}: ${c.raw.outcome}, risk ${c.raw.y}` , title: (items) => when(items[0].raw.x) } },
        },
      },
    });
    return () => chart.destroy();
  }, [points]);
  return html`<div class="chart" data-points=${points.map((p) => p.y).join(',')}><canvas ref=${canvas} aria-label="cumulative risk over time" role="img"></canvas></div>`;
}
