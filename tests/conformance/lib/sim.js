'use strict';
// Starts omnisync-sim (path in OMNISYNC_SIM) on port 0, reads its first stdout line (the service URLs,
// SEAMS "Simulator") and offers small helpers for the admin API and for a webhook receiver.
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
  async function admin(method, path, body) {
    const res = await fetch(urls.admin + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`admin ${method} ${path} -> ${res.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }
  async function stop() {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  return { urls, admin, stop, child };
}

// A loopback HTTP server that records every request (raw body kept as received) and answers `status`.
async function startReceiver({ status = 200 } = {}) {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(entry);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end('ok');
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

module.exports = { startSim, startReceiver };
