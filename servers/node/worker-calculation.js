'use strict';
// The Node.js original of the calculation example: the primary forks cluster
// workers, hands each calculation task to a worker with worker.send()
// (process.send in the worker; the default 'json' serialization), and collects
// the replies. No npm packages. It speaks the same tasks as
// `clusterbench calc` (servers/calc) so the two can be measured side by side.
//
// Usage:
//   node servers/node/worker-calculation.js --kind fibonacci --n 27 --tasks 10000 \
//        --workers 2 --inflight 64 --trials 3 [--warmup 2000]
// Every flag can also come from the environment: CALC_KIND, CALC_N, CALC_TASKS,
// CALC_WORKERS, CALC_INFLIGHT, CALC_TRIALS, CALC_WARMUP (flags win).
//
// Output: one machine-readable line per trial on stdout,
//   CALC_RESULT {"model":"node","kind":...,"tasks_per_s":...,"p50_ms":...,...}
// (answers holds the expected value per kind, so a caller can check them
// against its own), and a human summary on stderr. Every result is checked against the answer
// computed once per kind in the primary; exit 3 on any wrong or missing
// result, 2 on bad flags.

const cluster = require('node:cluster');
const os = require('node:os');

const { KINDS, BOUNDS, compute } = require('./workload.js'); // mix order of KINDS as in Go

// ---- worker: answer every task message with one reply message

if (cluster.isWorker) {
  process.on('message', (t) => {
    const t0 = process.hrtime.bigint();
    let r, err;
    try {
      r = compute(t.kind, t.n);
    } catch (e) {
      err = String(e.message || e);
    }
    process.send({ id: t.id, r, err, ns: Number(process.hrtime.bigint() - t0) });
  });
  return;
}

// ---- primary

function usage(msg) {
  process.stderr.write(`worker-calculation.js: ${msg}\n`);
  process.exit(2);
}

function options() {
  const o = {
    kind: process.env.CALC_KIND || 'fibonacci',
    n: process.env.CALC_N || '27',
    tasks: process.env.CALC_TASKS || '10000',
    workers: process.env.CALC_WORKERS || String(os.availableParallelism()),
    inflight: process.env.CALC_INFLIGHT || '64',
    trials: process.env.CALC_TRIALS || '1',
    warmup: process.env.CALC_WARMUP,
  };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    let [k, v] = argv[i].replace(/^--/, '').split('=', 2);
    if (!argv[i].startsWith('--') || !(k in o)) usage(`unknown argument ${argv[i]} (allowed: --${Object.keys(o).join(', --')})`);
    if (v === undefined) v = argv[++i];
    if (v === undefined) usage(`--${k} needs a value`);
    o[k] = v;
  }
  const int = (name, lo, hi) => {
    const s = o[name];
    if (!/^\d+$/.test(s) || Number(s) < lo || Number(s) > hi) usage(`--${name} ${s} out of range (allowed: ${lo}..${hi})`);
    return Number(s);
  };
  if (o.kind !== 'mix' && !(o.kind in BOUNDS)) usage(`--kind ${o.kind} is not a kind (allowed: ${KINDS.join(', ')}, mix)`);
  const kinds = o.kind === 'mix' ? KINDS : [o.kind];
  const maxN = Math.min(...kinds.map((k) => BOUNDS[k]));
  const tasks = int('tasks', 1, 10000000);
  return {
    kind: o.kind, kinds, n: int('n', 0, maxN), tasks,
    workers: int('workers', 1, 256), inflight: int('inflight', 1, 1024),
    trials: int('trials', 1, 100),
    warmup: o.warmup === undefined ? Math.min(tasks, 2000) : int('warmup', 0, 10000000),
  };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

// runBatch sends count tasks over the workers, at most inflight outstanding
// per worker (each reply frees a credit and pulls the next task), and resolves
// with the per-task latencies and per-worker tallies.
function runBatch(workers, o, count, want) {
  return new Promise((resolve) => {
    const lat = new Float64Array(count);
    const sentAt = new Float64Array(count);
    const done = new Uint8Array(count);
    const per = workers.map((w, i) => ({ worker: i, pid: w.process.pid, tasks: 0, busy_ms: 0 }));
    let next = 0;
    let received = 0;
    let mismatches = 0;
    let first = '';
    const t0 = performance.now();
    const send = (w) => {
      const id = next++;
      sentAt[id] = performance.now();
      w.send({ id, kind: o.kinds[id % o.kinds.length], n: o.n });
    };
    workers.forEach((w, i) => {
      w.removeAllListeners('message');
      w.on('message', (m) => {
        const now = performance.now();
        const kind = o.kinds[m.id % o.kinds.length];
        if (done[m.id]) {
          mismatches++;
          first = first || `task ${m.id} answered twice`;
        }
        done[m.id] = 1;
        lat[m.id] = now - sentAt[m.id];
        per[i].tasks++;
        per[i].busy_ms += m.ns / 1e6;
        if (m.err !== undefined || m.r !== want[kind]) {
          mismatches++;
          first = first || `task ${m.id} (${kind} n=${o.n}): got ${m.err || m.r}, want ${want[kind]}`;
        }
        received++;
        if (next < count) send(w);
        if (received === count) {
          const wall = (performance.now() - t0) / 1000;
          resolve({ wall, lat, per, mismatches, first });
        }
      });
      for (let k = 0; k < o.inflight && next < count; k++) send(w);
    });
  });
}

async function main() {
  const o = options();
  const want = {};
  for (const k of o.kinds) want[k] = compute(k, o.n);
  const workers = [];
  for (let i = 0; i < o.workers; i++) workers.push(cluster.fork());
  await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
  let exitCode = 0;
  const crashed = (w, code, signal) => {
    if (!w.exitedAfterDisconnect) {
      process.stderr.write(`worker ${w.process.pid} died (${signal || code}); the Node original does not recover\n`);
      process.exit(3);
    }
  };
  cluster.on('exit', crashed);
  if (o.warmup > 0) await runBatch(workers, o, o.warmup, want);
  for (let t = 1; t <= o.trials; t++) {
    const r = await runBatch(workers, o, o.tasks, want);
    const sorted = Float64Array.from(r.lat).sort();
    const missing = o.tasks - r.per.reduce((a, p) => a + p.tasks, 0);
    const mismatches = r.mismatches + Math.max(0, missing);
    const line = {
      model: 'node', kind: o.kind, n: o.n, tasks: o.tasks, workers: o.workers, inflight: o.inflight,
      trial: t, duration_s: r.wall, tasks_per_s: o.tasks / r.wall,
      p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99),
      checked: o.tasks, mismatches, first_mismatch: r.first || undefined,
      per_worker: r.per, answers: want,
    };
    process.stdout.write(`CALC_RESULT ${JSON.stringify(line)}\n`);
    process.stderr.write(`node trial ${t}: ${o.tasks} ${o.kind} n=${o.n} tasks on ${o.workers} workers: ` +
      `${Math.round(line.tasks_per_s)} tasks/s, p50 ${line.p50_ms.toFixed(3)} ms, p99 ${line.p99_ms.toFixed(3)} ms, ` +
      `${mismatches} wrong\n`);
    if (mismatches > 0) exitCode = 3;
  }
  cluster.off('exit', crashed);
  for (const w of workers) w.disconnect();
  process.exitCode = exitCode;
}

main().catch((e) => {
  process.stderr.write(`worker-calculation.js: ${e.stack || e}\n`);
  process.exit(3);
});
