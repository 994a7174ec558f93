'use strict';
// The Node.js cluster reference: the design clusterbench rebuilds in Go.
//
// The primary forks one worker per CPU (or WORKERS), the workers share the
// port through node:cluster (NODE_CLUSTER_SCHED_POLICY=rr: the primary
// accepts and hands connections round-robin, Node's default on Linux;
// none: the workers race to accept on a shared socket), a worker that
// crashes is restarted in the same slot (so X-Worker-Id stays stable), and
// SIGTERM/SIGINT drain the workers and exit. Workers exit when the primary
// dies (node:cluster ends a worker whose IPC channel closes unexpectedly).
//
// It speaks the server contract of DESIGN.md exactly like the Go models:
// GET / (hello naming the worker), GET /calc/{factorial|sum|primes|fibonacci}?n=N
// (JSON with exact decimal results), GET /healthz, 400/404 JSON errors, and
// the X-Worker-Id / X-Worker-Pid headers. FAULTS=1 enables GET /fault/exit.
// No npm packages.
//
// Environment: ADDR (host:port) or PORT (on 127.0.0.1; default 3000),
// WORKERS (default: os.availableParallelism()), GRACE_MS (drain deadline,
// default 5000), NODE_CLUSTER_SCHED_POLICY (rr | none), FAULTS.

const cluster = require('node:cluster');
const http = require('node:http');
const os = require('node:os');
const workload = require('./workload.js');

const { KINDS, compute } = workload;
// BOUNDS as BigInt ranges, for exact comparisons with any n a client sends.
const BOUNDS = Object.fromEntries(KINDS.map((k) => [k, [0n, BigInt(workload.BOUNDS[k])]]));
const GRACE_MS = positiveInt(process.env.GRACE_MS, 5000, 'GRACE_MS');

function positiveInt(s, dflt, name) {
  if (s === undefined || s === '') return dflt;
  if (!/^[0-9]+$/.test(s) || Number(s) < 1 || Number(s) > 1024 * 1024) {
    console.error(`node cluster: ${name}=${JSON.stringify(s)} is not a positive integer`);
    process.exit(2);
  }
  return Number(s);
}

function listenAddress() {
  let host = '127.0.0.1';
  let port = process.env.PORT || '3000';
  if (process.env.ADDR) {
    const i = process.env.ADDR.lastIndexOf(':');
    if (i < 0) {
      console.error(`node cluster: ADDR=${JSON.stringify(process.env.ADDR)} is not HOST:PORT`);
      process.exit(2);
    }
    host = process.env.ADDR.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
    port = process.env.ADDR.slice(i + 1);
  }
  if (!/^[0-9]+$/.test(port) || Number(port) > 65535) {
    console.error(`node cluster: port ${JSON.stringify(port)} is not a number in 0..65535`);
    process.exit(2);
  }
  return { host, port: Number(port) };
}

// ---- request parsing, with the Go API's messages ----

// goQuote mimics Go's %q for the strings these messages quote.
function goQuote(s) {
  return JSON.stringify(s);
}

// parseQuery follows Go's url.ParseQuery: '&'-separated, '+' is a space,
// a ';' or a bad %-escape is an error (the first one is reported).
function parseQuery(raw) {
  const q = new Map();
  let err = null;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) {
      err = err || 'invalid semicolon separator in query';
      continue;
    }
    const eq = part.indexOf('=');
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawVal = eq < 0 ? '' : part.slice(eq + 1);
    let key;
    let val;
    try {
      key = unescape(rawKey);
      val = unescape(rawVal);
    } catch (e) {
      err = err || e.message;
      continue;
    }
    if (!q.has(key)) q.set(key, []);
    q.get(key).push(val);
  }
  return { q, err };
}

function unescape(s) {
  const bad = /%(?![0-9a-fA-F]{2})/.exec(s);
  if (bad) {
    throw new Error(`invalid URL escape ${goQuote(s.slice(bad.index, bad.index + 3))}`);
  }
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

class HTTPError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// parseCalc validates /calc/{kind}?query like servers/app.ParseCalc.
function parseCalc(kind, rawQuery) {
  if (!KINDS.includes(kind)) {
    throw new HTTPError(404, `unknown calculation ${goQuote(kind)} (allowed: factorial, sum, primes, fibonacci)`);
  }
  const [min, max] = BOUNDS[kind];
  const { q, err } = parseQuery(rawQuery);
  if (err) {
    throw new HTTPError(400, `malformed query string: ${err} (expected n=INTEGER, ${min}..${max})`);
  }
  const vals = q.get('n');
  if (!vals || vals.length === 0 || vals[0] === '') {
    throw new HTTPError(400, `${kind}: missing n (expected n=INTEGER, ${min}..${max})`);
  }
  if (vals.length > 1) {
    throw new HTTPError(400, `${kind}: n given ${vals.length} times (expected one n=INTEGER, ${min}..${max})`);
  }
  const s = vals[0];
  let n = null;
  if (/^[+-]?[0-9]+$/.test(s)) {
    n = BigInt(s);
    if (n < INT64_MIN || n > INT64_MAX) n = null;
  }
  if (n === null) {
    throw new HTTPError(400, `${kind}: n=${goQuote(s)} is not an integer (allowed: ${min}..${max})`);
  }
  if (n < min || n > max) {
    throw new HTTPError(400, `${kind}: n=${n} out of range (allowed: ${min}..${max})`);
  }
  return Number(n);
}

// ---- the worker's HTTP server ----

// goJSON is JSON as Go's encoding/json writes it (HTML-safe escapes).
function goJSON(v) {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029') + '\n';
}

function send(res, status, type, body, extra) {
  const buf = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': buf.length, ...extra });
  res.end(buf);
}

function sendError(res, status, message) {
  send(res, status, 'application/json', goJSON({ error: message, status }));
}

function runWorker() {
  const id = Number(process.env.CLUSTER_WORKER_SLOT || '0');
  const pid = process.pid;
  const ident = { 'X-Worker-Id': String(id), 'X-Worker-Pid': String(pid) };
  const faults = process.env.FAULTS === '1';
  const server = http.createServer((req, res) => {
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
    const get = req.method === 'GET' || req.method === 'HEAD';
    try {
      if (get && path === '/') {
        send(res, 200, 'text/plain; charset=utf-8', `Hello from worker ${id} (pid ${pid})\n`, ident);
        return;
      }
      if (get && path === '/healthz') {
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n', { 'X-Worker-Pid': String(pid) });
        return;
      }
      const m = /^\/calc\/([^/]+)$/.exec(path);
      if (get && m) {
        let kind;
        try {
          kind = decodeURIComponent(m[1]);
        } catch (e) {
          kind = m[1];
        }
        const n = parseCalc(kind, rawQuery);
        const start = process.hrtime.bigint();
        const result = compute(kind, n);
        const computeNs = Number(process.hrtime.bigint() - start);
        send(res, 200, 'application/json',
          goJSON({ kind, n, result, worker: id, pid, compute_ns: computeNs }), ident);
        return;
      }
      if (faults && get && path === '/fault/exit') {
        res.on('finish', () => process.exit(1));
        send(res, 200, 'application/json', goJSON({ fault: 'exit' }), { ...ident, Connection: 'close' });
        return;
      }
      throw new HTTPError(404,
        `no route for ${req.method} ${path} (routes: GET /, GET /calc/{kind}?n=N, GET /healthz)`);
    } catch (e) {
      if (e instanceof HTTPError) {
        sendError(res, e.status, e.message);
      } else {
        sendError(res, 500, `internal error: ${e.message}`);
      }
    }
  });
  server.keepAliveTimeout = 120000;
  server.headersTimeout = 121000;
  const { host, port } = listenAddress();
  server.listen(port, host);

  let stopping = false;
  const drain = () => {
    if (stopping) return;
    stopping = true;
    // Stop accepting, close idle keep-alive connections, let in-flight
    // requests finish; exit at the grace deadline whatever is left.
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), GRACE_MS).unref();
    if (cluster.worker && cluster.worker.isConnected()) {
      cluster.worker.disconnect(); // tells the primary not to restart this slot
    }
  };
  process.on('SIGTERM', drain);
  process.on('SIGINT', drain);
}

// ---- the primary ----

function runPrimary() {
  const workers = positiveInt(process.env.WORKERS, os.availableParallelism(), 'WORKERS');
  const policy = cluster.schedulingPolicy === cluster.SCHED_RR ? 'rr' : 'none';
  const slots = new Map(); // worker.id → slot
  const restarts = new Array(workers).fill(0);
  const started = new Array(workers).fill(0);
  let stopping = false;

  const fork = (slot) => {
    started[slot] = Date.now();
    const w = cluster.fork({ CLUSTER_WORKER_SLOT: String(slot) });
    slots.set(w.id, slot);
  };

  cluster.on('exit', (w, code, signal) => {
    const slot = slots.get(w.id);
    slots.delete(w.id);
    if (stopping) {
      if (slots.size === 0) process.exit(0);
      return;
    }
    if (w.exitedAfterDisconnect) {
      // a worker that drained on its own signal: the whole group is stopping
      return;
    }
    // A crash: restart the slot, backing off while it keeps crashing.
    restarts[slot] = Date.now() - started[slot] > 10000 ? 1 : restarts[slot] + 1;
    const delay = Math.min(100 * 2 ** (restarts[slot] - 1), 5000);
    console.error(`node cluster: worker ${slot} (pid ${w.process.pid}) died (${signal || 'exit ' + code}); restarting in ${delay}ms`);
    setTimeout(() => { if (!stopping) fork(slot); }, delay);
  });

  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    if (slots.size === 0) process.exit(0);
    for (const w of Object.values(cluster.workers)) {
      if (w.isConnected()) w.disconnect();
      setTimeout(() => w.process.kill('SIGKILL'), GRACE_MS).unref();
    }
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  const { host, port } = listenAddress();
  console.error(`node cluster: primary ${process.pid}, ${workers} workers, policy ${policy}, listening on ${host}:${port}`);
  for (let slot = 0; slot < workers; slot++) fork(slot);
}

if (cluster.isPrimary) {
  runPrimary();
} else {
  runWorker();
}

module.exports = { compute, parseCalc };
