'use strict';
// Starts omnisync-sim (path in OMNISYNC_SIM) on port 0, reads its first stdout line (the service URLs,
// SEAMS "Simulator") and offers small helpers for the admin API, raw HTTP and a webhook receiver.
const { spawn } = require('node:child_process');
const http = require('node:http');
const readline = require('node:readline');

async function startSim(args = []) {
  const bin = process.env.OMNISYNC_SIM;
  if (!bin) throw new Error('OMNISYNC_SIM is not set (run through run.sh)');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('omnisync-sim printed no first line in 20 s')), 20000);
    child.once('exit', (code) => reject(new Error(`omnisync-sim exited early with ${code}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
  child.removeAllListeners('exit');
  const urls = JSON.parse(first);
  // Admin calls that must succeed; `adminRaw` returns {status, body} for the ones a test expects to fail.
  async function adminRaw(method, path, body) {
    const res = await fetch(urls.admin + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
  async function admin(method, path, body) {
    const res = await adminRaw(method, path, body);
    if (res.status >= 300) throw new Error(`admin ${method} ${path} -> ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }
  // Polls `GET /admin/deliveries?service=` until `predicate(deliveries)` holds (webhook redelivery state).
  async function waitForDeliveries(service, predicate, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await admin('GET', `/admin/deliveries?service=${service}`);
      if (predicate(list)) return list;
      if (Date.now() > deadline) throw new Error(`deliveries never matched: ${JSON.stringify(list).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async function stop() {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  return { urls, admin, adminRaw, waitForDeliveries, stop, child };
}

// One raw HTTP exchange with Node's own fetch (undici), for what the vendor clients do not expose. The URL is
// sent as written: fetch keeps literal brackets in query strings, as the vendors' docs write them.
async function raw(method, url, { headers = {}, body, json } = {}) {
  const h = { ...headers };
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    h['content-type'] = h['content-type'] || 'application/json';
  }
  const res = await fetch(url, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

// A loopback HTTP server that records every request (raw body kept as received, arrival time in ms) and
// answers `status`, or what `respond(entry)` returns ({status, body, headers}) when given.
async function startReceiver({ status = 200, respond } = {}) {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const entry = {
        method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      received.push(entry);
      const answer = respond ? respond(entry) : { status, body: 'ok' };
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...(answer.headers || {}) });
      res.end(req.method === 'HEAD' ? undefined : (answer.body ?? ''));
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  async function waitFor(predicate, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = received.find(predicate);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching request within ${timeoutMs} ms (got ${received.length})`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
  return { url, received, waitFor, close: () => new Promise((r) => server.close(r)) };
}

module.exports = { startSim, startReceiver, raw };
