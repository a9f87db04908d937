'use strict';
// node-zendesk against omnisync-sim: the cursor-based incremental user export (through the client's request
// machinery, following after_cursor to end_of_stream), the time-based export helper, create_or_update_many
// with jobstatuses.watch, satisfaction ratings with cursor pagination, and 429 with Retry-After.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const zendesk = require('node-zendesk');
const { startSim } = require('./lib/sim');

let sim;
let client;

before(async () => {
  sim = await startSim();
  client = zendesk.createClient({
    username: 'agent@example.com',
    token: 'sim-api-token',
    endpointUri: `${sim.urls.zendesk.http}/api/v2`,
  });
  // Conformance walks many pages quickly; the real per-minute export budgets are tested in C++.
  await sim.admin('POST', '/admin/limits', { service: 'zendesk', cursor_users_per_minute: 10000, incremental_per_minute: 10000 });
});
after(async () => { if (sim) await sim.stop(); });

// The jobstatuses client keeps whole response bodies (its jsonAPINames never match export bodies).
const raw = (path) => client.jobstatuses.request('GET', path).then((r) => r.result);

test('cursor export follows after_cursor until end_of_stream and resumes from the stored cursor', async () => {
  const ids = new Set();
  let body = await raw(['incremental', 'users', 'cursor', { start_time: 0, per_page: 100 }]);
  for (let page = 0; page < 1000; page++) {
    assert.ok(Array.isArray(body.users));
    for (const u of body.users) {
      assert.ok(!ids.has(u.id));
      ids.add(u.id);
      assert.match(u.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    assert.equal(typeof body.after_cursor, 'string');
    assert.ok(body.after_url.includes(`cursor=${body.after_cursor}`));
    if (body.end_of_stream) break;
    body = await raw(['incremental', 'users', 'cursor', { cursor: body.after_cursor }]);
  }
  assert.equal(body.end_of_stream, true);
  assert.ok(ids.size > 0);
  const stored = body.after_cursor;
  const idle = await raw(['incremental', 'users', 'cursor', { cursor: stored }]);
  assert.equal(idle.users.length, 0);
  await sim.admin('PATCH', '/admin/zendesk/users/3', { name: 'Changed By Admin' });
  const changed = await raw(['incremental', 'users', 'cursor', { cursor: stored }]);
  assert.deepEqual(changed.users.map((u) => u.name), ['Changed By Admin']);
});

test('a start_time within the last minute is rejected', async () => {
  const now = Math.floor(Date.now() / 1000);
  await assert.rejects(raw(['incremental', 'users', 'cursor', { start_time: now + 3600 }]), /400/);
});

test('users.incremental (time-based export) returns users', async () => {
  const users = await client.users.incremental(0);
  assert.ok(Array.isArray(users));
  assert.ok(users.length > 0);
  assert.ok(users.every((u) => typeof u.email === 'string' || u.email === null));
});

test('createOrUpdateMany returns a job_status that jobstatuses.watch sees completed', async () => {
  const { result } = await client.users.createOrUpdateMany({
    users: [
      { email: 'conf.one@example.com', name: 'Conf One', external_id: 'conf-1' },
      { email: 'conf.two@example.com', name: 'Conf Two' },
      { email: 'not-an-email', name: 'Broken' },
    ],
  });
  assert.equal(result.job_status.status, 'queued');
  assert.equal(result.job_status.total, 3);
  const done = await client.jobstatuses.watch(result.job_status.id, 50, 5);
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.results.map((r) => r.status), ['Created', 'Created', 'Failed']);
  const { result: again } = await client.users.createOrUpdateMany({ users: [{ external_id: 'conf-1', name: 'Conf Uno' }] });
  const second = await client.jobstatuses.watch(again.job_status.id, 50, 5);
  assert.equal(second.results[0].status, 'Updated');
  assert.equal(second.results[0].id, done.results[0].id);
  const shown = await client.users.show(done.results[0].id);
  assert.equal(shown.result.name, 'Conf Uno');
});

test('satisfactionratings.list walks cursor pages (links.next)', async () => {
  const ratings = await client.satisfactionratings.list();
  assert.ok(ratings.length > 0);
  assert.equal(new Set(ratings.map((r) => r.id)).size, ratings.length);
  assert.ok(ratings.every((r) => r.score === 'good' || r.score === 'bad'));
});

test('429 with Retry-After is recognised by the client as a rate limit', async () => {
  await sim.admin('POST', '/admin/limits', { service: 'zendesk', per_minute: 1 });
  try {
    const ok = await client.users.show(1);
    assert.equal(ok.result.id, 1);
    // node-zendesk does not throw here: it returns an Error carrying statusCode 429 when Retry-After is present.
    const limited = await client.users.show(1);
    assert.ok(limited.result instanceof Error);
    assert.equal(limited.result.statusCode, 429);
    assert.match(limited.result.message, /rate limit/i);
    assert.ok(Number(limited.response.headers.get('retry-after')) >= 1);
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'zendesk', per_minute: 700 });
  }
});

test('the HTTPS endpoint verifies against the simulator CA (node-fetch agent with ca_file)', async () => {
  const https = require('node:https');
  const fs = require('node:fs');
  const secure = zendesk.createClient({
    username: 'agent@example.com',
    token: 'sim-api-token',
    endpointUri: `${sim.urls.zendesk.https}/api/v2`,
    agent: new https.Agent({ ca: fs.readFileSync(sim.urls.ca_file) }),
  });
  const { result } = await secure.users.show(2);
  assert.equal(result.id, 2);
  const untrusted = zendesk.createClient({
    username: 'agent@example.com',
    token: 'sim-api-token',
    endpointUri: `${sim.urls.zendesk.https}/api/v2`,
    agent: new https.Agent({}),
  });
  await assert.rejects(untrusted.users.show(2), /certificate|self.signed|issuer/i);
});
