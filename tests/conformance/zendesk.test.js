'use strict';
// node-zendesk against omnisync-sim: the cursor-based incremental user export (through the client's request
// machinery, following after_cursor to end_of_stream), the time-based export helper, create_or_update_many
// with jobstatuses.watch, satisfaction ratings with cursor pagination and filters, 429 with Retry-After, query
// strings with literal brackets, validation errors in Zendesk's RecordInvalid shape, and webhook redelivery
// (each case names the documented behaviour it checks).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const zendesk = require('node-zendesk');
const { startSim, startReceiver, raw: rawHttp } = require('./lib/sim');

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
  // Exports leave out what changed within the last minute (Zendesk's documented settle time; the simulator holds
  // back the current second): the change shows once the clock has moved past it.
  await sim.admin('POST', '/admin/clock', { advance_ms: 1000 });
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

// ---- issue 17: brackets, filters, validation, webhook redelivery ---------------------------------------------

const basic = () => ({ authorization: `Basic ${Buffer.from('agent@example.com/token:sim-api-token').toString('base64')}` });

test('cursor pagination with literal brackets (page[size]=2), as the docs write it and fetch sends it', async () => {
  // developer.zendesk.com/api-reference/introduction/pagination: "GET /api/v2/tickets.json?page[size]=100";
  // "has_more" in meta, the next page in links.next. Node's fetch sends the brackets unencoded.
  const first = await rawHttp('GET', `${sim.urls.zendesk.http}/api/v2/users.json?page[size]=2`, { headers: basic() });
  assert.equal(first.status, 200);
  assert.equal(first.body.users.length, 2);
  assert.equal(first.body.meta.has_more, true);
  const next = await rawHttp('GET', first.body.links.next, { headers: basic() });
  assert.equal(next.status, 200);
  assert.ok(next.body.users[0].id > first.body.users[1].id);
  // The same cursor with literal brackets instead of the %5B/%5D the link uses.
  const literal = await rawHttp('GET',
    `${sim.urls.zendesk.http}/api/v2/users.json?page[size]=2&page[after]=${first.body.meta.after_cursor}`, { headers: basic() });
  assert.deepEqual(literal.body.users.map((u) => u.id), next.body.users.map((u) => u.id));
  const ratings = await rawHttp('GET', `${sim.urls.zendesk.http}/api/v2/satisfaction_ratings.json?page[size]=3`, { headers: basic() });
  assert.equal(ratings.status, 200);
  assert.equal(ratings.body.satisfaction_ratings.length, 3);
});

test('satisfaction ratings filter by score, start_time and end_time', async () => {
  // developer.zendesk.com/api-reference/ticketing/ticket-management/satisfaction_ratings, List Satisfaction
  // Ratings, "Filters": score (offered, unoffered, received, received_with_comment, received_without_comment,
  // good, good_with_comment, good_without_comment, bad, bad_with_comment, bad_without_comment), start_time,
  // end_time. "If you specify an unqualified score such as good, the results include all the records with and
  // without comments."
  const get = (q) => rawHttp('GET', `${sim.urls.zendesk.http}/api/v2/satisfaction_ratings.json?${q}`, { headers: basic() });
  const all = (await get('per_page=100')).body.satisfaction_ratings;
  const bad = (await get('score=bad&per_page=100')).body.satisfaction_ratings;
  assert.ok(bad.length > 0 && bad.length < all.length);
  assert.ok(bad.every((r) => r.score === 'bad'));
  const received = (await get('score=received&per_page=100')).body.satisfaction_ratings;
  assert.ok(received.every((r) => r.score === 'good' || r.score === 'bad'));
  const goodWithComment = (await get('score=good_with_comment&per_page=100')).body.satisfaction_ratings;
  assert.ok(goodWithComment.every((r) => r.score === 'good' && r.comment));
  const stamps = all.map((r) => Date.parse(r.updated_at) / 1000).sort((a, b) => a - b);
  const mid = stamps[Math.floor(stamps.length / 2)];
  const late = (await get(`start_time=${mid}&per_page=100`)).body.satisfaction_ratings;
  assert.ok(late.length > 0 && late.every((r) => Date.parse(r.updated_at) / 1000 >= mid));
  const early = (await get(`end_time=${mid}&per_page=100`)).body.satisfaction_ratings;
  assert.ok(early.every((r) => Date.parse(r.updated_at) / 1000 <= mid));
  assert.equal((await get('score=excellent')).status, 400);
});

test('an invalid e-mail is 422 RecordInvalid with details keyed by field, each a list of objects', async () => {
  // node-zendesk keeps the answer body only when asked to throw the original exception.
  const client = zendesk.createClient({
    username: 'agent@example.com', token: 'sim-api-token', endpointUri: `${sim.urls.zendesk.http}/api/v2`,
    throwOriginalException: true,
  });
  // developer.zendesk.com/api-reference/introduction/requests (422 Unprocessable Entity for business-level errors,
  // as JSON): {"error":"RecordInvalid","description":"Record validation errors","details":{"email":[{"description":
  // ..., "error": ...}]}} — details keyed by field, each a list of objects (the `error` codes inside are
  // UNCONFIRMED, so the test checks only that one is there).
  await assert.rejects(client.users.createOrUpdate({ user: { name: 'Bad Mail', email: 'not-an-email' } }), (e) => {
    assert.equal(e.statusCode, 422);
    assert.equal(e.result.error, 'RecordInvalid');
    assert.equal(e.result.description, 'Record validation errors');
    assert.ok(Array.isArray(e.result.details.email));
    assert.match(e.result.details.email[0].description, /not-an-email/);
    assert.equal(typeof e.result.details.email[0].error, 'string');
    return true;
  });
  await assert.rejects(client.users.createOrUpdate({ user: { email: 'no.name@example.com' } }), (e) => {
    assert.equal(e.statusCode, 422);
    assert.ok(Array.isArray(e.result.details.name));
    return true;
  });
  // A dropdown custom field takes only its options' values; an integer field only integers.
  await assert.rejects(client.users.createOrUpdate({ user: { name: 'Plan', email: 'plan@example.com', user_fields: { plan: 'platinum' } } }),
    (e) => { assert.equal(e.statusCode, 422); assert.ok(Array.isArray(e.result.details.plan)); return true; });
  await assert.rejects(client.users.createOrUpdate({ user: { name: 'Nps', email: 'nps@example.com', user_fields: { nps_score: 'ten' } } }),
    (e) => { assert.equal(e.statusCode, 422); assert.ok(Array.isArray(e.result.details.nps_score)); return true; });
  const ok = await client.users.createOrUpdate({ user: { name: 'Valid', email: 'valid.user@example.com', user_fields: { plan: 'pro', nps_score: 9 } } });
  assert.equal(ok.result.email, 'valid.user@example.com');
});

test('the same validation applies per user in create_or_update_many', async () => {
  // Bulk jobs report failures per item in job_status results (status "Failed" with error and details).
  const { result } = await client.users.createOrUpdateMany({
    users: [{ name: 'Bulk Ok', email: 'bulk.ok@example.com' }, { name: 'Bulk Plan', email: 'bulk.plan@example.com', user_fields: { plan: 'gold' } }],
  });
  const done = await client.jobstatuses.watch(result.job_status.id, 50, 5);
  assert.deepEqual(done.results.map((r) => r.status), ['Created', 'Failed']);
  assert.equal(done.results[1].error, 'RecordInvalid');
});

test('webhook redelivery: a 409 is retried with a fresh signature timestamp; other 4xx are not', async () => {
  // developer.zendesk.com/api-reference/webhooks/introduction, "Webhook retries": "Zendesk webhooks retry failed
  // HTTP requests that return certain HTTP response codes" (the codes, counts and pauses used here — 409 retried,
  // 410 not — are the simulator's reading, listed as UNCONFIRMED in docs/simulators.md); webhooks/verifying: the
  // signature is base64(HMAC-SHA256(secret, timestamp + body)) with X-Zendesk-Webhook-Signature-Timestamp.
  const crypto = require('node:crypto');
  const secret = 'zd-retry-secret';
  let conflicts = 2;
  const receiver = await startReceiver({
    respond: (r) => (r.body.includes('Gone410') ? { status: 410 } : conflicts-- > 0 ? { status: 409 } : { status: 200 }),
  });
  try {
    await sim.admin('POST', '/admin/limits', { service: 'zendesk', webhook_time_scale: 0.001 });
    await sim.admin('POST', '/admin/webhooks', { service: 'zendesk', url: `${receiver.url}/zd`, secret });
    await sim.admin('PATCH', '/admin/zendesk/users/11', { name: 'Conflicted Once' });
    await receiver.waitFor((r) => r.body.includes('Conflicted Once') && receiver.received.filter((x) => x.body.includes('Conflicted Once')).length === 3, 20000);
    const hits = receiver.received.filter((r) => r.body.includes('Conflicted Once'));
    assert.equal(new Set(hits.map((r) => r.headers['x-zendesk-webhook-invocation-id'])).size, 1, 'one invocation');
    for (const r of hits) {
      const ts = r.headers['x-zendesk-webhook-signature-timestamp'];
      assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(r.headers['x-zendesk-webhook-signature'], crypto.createHmac('sha256', secret).update(ts + r.body).digest('base64'));
    }
    await sim.admin('PATCH', '/admin/zendesk/users/12', { name: 'Gone410' });
    const list = await sim.waitForDeliveries('zendesk', (l) => l.some((d) => d.state === 'failed' && d.url.endsWith('/zd')));
    assert.equal(list.find((d) => d.state === 'failed' && d.url.endsWith('/zd')).attempts, 1);
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'zendesk', webhook_time_scale: 1 });
    await receiver.close();
  }
});
