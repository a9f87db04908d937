'use strict';
// intercom-client (the official TypeScript SDK) against omnisync-sim's Intercom, plus raw HTTP and a loopback
// receiver for the webhook subscription checks. Each case names the documented behaviour it checks.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { IntercomClient, IntercomError } = require('intercom-client');
const { startSim, startReceiver } = require('./lib/sim');

let sim;
let client;

before(async () => {
  sim = await startSim();
  client = new IntercomClient({ token: 'sim-access-token', baseUrl: sim.urls.intercom.http, version: '2.11' });
});
after(async () => { if (sim) await sim.stop(); });

async function rejectsIntercom(promise, status, code) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof IntercomError, String(e));
    assert.equal(e.statusCode, status);
    // Intercom's error shape (api-notes §5.2, from the 2.11 OpenAPI description):
    // {"type":"error.list","request_id":...,"errors":[{"code","message"}]}
    assert.equal(e.body.type, 'error.list');
    assert.equal(e.body.errors[0].code, code);
    assert.equal(typeof e.body.request_id, 'string');
    return true;
  });
}

test('contacts.list pages through every contact with starting_after', async () => {
  // Pagination for list APIs: "pages": {"next": {"starting_after": "..."}} until no next page.
  const ids = [];
  const pages = await client.contacts.list({ per_page: 50 });
  for await (const c of pages) ids.push(c.id);
  assert.ok(ids.length > 50);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.every((id) => /^[0-9a-f]{24}$/.test(id)));
});

test('contacts.search compares timestamps by whole days, as documented', async () => {
  // Search contacts (api-notes §5.2): timestamp fields compare at day granularity, ">" starting from the next day,
  // and ">=", "<=" are not supported for timestamps.
  const page = await client.contacts.search({
    query: { operator: 'AND', value: [{ field: 'updated_at', operator: '>', value: 0 }] },
    pagination: { per_page: 10 },
  });
  const first = page.data[0];
  assert.ok(first);
  const sameDay = await client.contacts.search({
    query: { field: 'updated_at', operator: '>', value: first.updated_at },
    pagination: { per_page: 150 },
  });
  const day = Math.floor(first.updated_at / 86400);
  assert.ok(sameDay.data.every((c) => Math.floor(c.updated_at / 86400) > day));
  await rejectsIntercom(client.contacts.search({ query: { field: 'updated_at', operator: '>=', value: 0 } }), 400,
    'parameter_invalid');
});

test('create, find, update; a duplicate is 409 conflict and a missing contact 404, as error.list', async () => {
  // Contacts API: POST /contacts (409 "A contact matching those details already exists"), GET/PUT /contacts/{id}.
  const created = await client.contacts.create({ email: 'ic.conf@example.com', external_id: 'ic-conf-1', name: 'Conf' });
  assert.equal(created.type, 'contact');
  assert.equal(created.role, 'user');
  await rejectsIntercom(client.contacts.create({ email: 'IC.CONF@example.com' }), 409, 'conflict');
  const found = await client.contacts.find({ contact_id: created.id });
  assert.equal(found.email, 'ic.conf@example.com');
  const updated = await client.contacts.update({ contact_id: created.id, name: 'Conformance', custom_attributes: { plan: 'pro' } });
  assert.equal(updated.name, 'Conformance');
  assert.equal(updated.custom_attributes.plan, 'pro');
  await rejectsIntercom(client.contacts.find({ contact_id: '65a1ffffffffffffffffffff' }), 404, 'not_found');
});

test('conversations list and search, data attributes', async () => {
  const convs = [];
  const pages = await client.conversations.list({ per_page: 50 });
  for await (const c of pages) convs.push(c);
  assert.ok(convs.length > 0);
  assert.ok(convs.every((c) => c.type === 'conversation'));
  const found = await client.conversations.search({
    query: { field: 'updated_at', operator: '>', value: 0 }, pagination: { per_page: 5 },
  });
  assert.equal(found.data.length, 5);
  const attrs = await client.dataAttributes.list({ model: 'contact' });
  assert.ok(attrs.data.some((a) => a.full_name === 'custom_attributes.plan' && a.custom === true));
});

test('a webhook subscription is validated with HEAD, then the ping notification arrives, signed', async () => {
  // developers.intercom.com/docs/webhooks/setting-up-webhooks: "When you add your endpoint URL, it must be able to
  // receive a HEAD request, which we use to validate the URL." The ping topic then confirms delivery; every
  // notification is signed: X-Hub-Signature: sha1=<HMAC-SHA1(client_secret, body)>.
  const receiver = await startReceiver();
  try {
    const secret = 'ic-client-secret';
    await sim.admin('POST', '/admin/webhooks', { service: 'intercom', url: `${receiver.url}/ic`, secret });
    const ping = await receiver.waitFor((r) => r.method === 'POST' && r.body.includes('"ping"'));
    const methods = receiver.received.map((r) => r.method);
    assert.equal(methods[0], 'HEAD');
    assert.ok(methods.indexOf('HEAD') < receiver.received.indexOf(ping));
    const body = JSON.parse(ping.body);
    assert.equal(body.type, 'notification_event');
    assert.equal(body.topic, 'ping');
    assert.equal(ping.headers['x-hub-signature'], `sha1=${crypto.createHmac('sha1', secret).update(ping.body).digest('hex')}`);
  } finally {
    await receiver.close();
  }
});

test('a URL that fails the HEAD validation is not subscribed and gets no notifications', async () => {
  const receiver = await startReceiver({ respond: (r) => (r.method === 'HEAD' ? { status: 404 } : { status: 200 }) });
  try {
    const res = await sim.adminRaw('POST', '/admin/webhooks', { service: 'intercom', url: `${receiver.url}/nope`, secret: 's' });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /HEAD/);
    await sim.admin('PATCH', '/admin/intercom/contacts/4', { name: 'Unheard' });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(receiver.received.map((r) => r.method), ['HEAD']);
  } finally {
    await receiver.close();
  }
});

test('a failed notification is redelivered with delivery_attempts counted and a fresh signature', async () => {
  // The notification object carries delivery_attempts and first_sent_at (api-notes §5.1); the X-Hub-Signature
  // covers the body as sent. Intercom does not document the retry schedule (one retry after a minute here).
  const secret = 'ic-retry';
  let failures = 1;
  const receiver = await startReceiver({
    respond: (r) => (r.method === 'POST' && r.body.includes('Retry Me') && failures-- > 0 ? { status: 500 } : { status: 200 }),
  });
  try {
    await sim.admin('POST', '/admin/limits', { service: 'intercom', webhook_time_scale: 0.001 });
    await sim.admin('POST', '/admin/webhooks', { service: 'intercom', url: `${receiver.url}/ic-retry`, secret });
    await sim.admin('PATCH', '/admin/intercom/contacts/5', { name: 'Retry Me' });
    await receiver.waitFor((r) => r.body.includes('Retry Me') && JSON.parse(r.body).delivery_attempts === 2, 20000);
    const hits = receiver.received.filter((r) => r.body.includes('Retry Me')).map((r) => ({ r, b: JSON.parse(r.body) }));
    assert.deepEqual(hits.map((h) => h.b.delivery_attempts), [1, 2]);
    assert.equal(hits[0].b.id, hits[1].b.id);
    assert.equal(hits[0].b.first_sent_at, hits[1].b.first_sent_at);
    for (const { r } of hits) {
      assert.equal(r.headers['x-hub-signature'], `sha1=${crypto.createHmac('sha1', secret).update(r.body).digest('hex')}`);
    }
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'intercom', webhook_time_scale: 1 });
    await receiver.close();
  }
});
