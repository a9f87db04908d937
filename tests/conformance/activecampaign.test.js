'use strict';
// ActiveCampaign API v3 against omnisync-sim over raw HTTP (ActiveCampaign publishes no Node client for v3):
// query strings with literal brackets as the reference writes them, contact sync validation, and the
// form-encoded webhooks that are never retried. Each case names the documented behaviour it checks.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSim, startReceiver, raw } = require('./lib/sim');

let sim;
const token = { 'api-token': 'conformance-token' };
const api = (path, opts = {}) => raw(opts.method || 'GET', `${sim.urls.activecampaign.http}/api/3${path}`,
  { headers: { ...token, ...(opts.headers || {}) }, json: opts.json });

before(async () => {
  sim = await startSim();
  // The real account allows 5 requests/s; conformance runs many calls back to back.
  await sim.admin('POST', '/admin/limits', { service: 'activecampaign', per_second: 1000 });
});
after(async () => { if (sim) await sim.stop(); });

test('filters[updated_after] and orders[udate] with literal brackets, as the reference writes them', async () => {
  // developers.activecampaign.com/reference/list-all-contacts: query parameters "filters[updated_after]" and
  // "orders[udate]" (ASC/DESC); Node's fetch sends the brackets unencoded.
  const all = await api('/contacts?limit=100&orders[udate]=ASC');
  assert.equal(all.status, 200);
  const stamps = all.body.contacts.map((c) => Date.parse(c.udate));
  assert.deepEqual([...stamps].sort((a, b) => a - b), stamps);
  const pivot = all.body.contacts[50].udate;
  const after50 = await api(`/contacts?limit=100&orders[udate]=ASC&filters[updated_after]=${encodeURIComponent(pivot)}`);
  assert.equal(after50.status, 200);
  assert.ok(after50.body.contacts.length > 0);
  assert.ok(after50.body.contacts.every((c) => Date.parse(c.udate) > Date.parse(pivot)));
  // The percent-encoded spelling means the same.
  const encoded = await api(`/contacts?limit=100&orders%5Budate%5D=ASC&filters%5Bupdated_after%5D=${encodeURIComponent(pivot)}`);
  assert.deepEqual(encoded.body.contacts.map((c) => c.id), after50.body.contacts.map((c) => c.id));
  assert.equal(typeof all.body.meta.total, 'string');  // meta.total is a string in v3 answers
  const bad = await api('/contacts?filters[updated_after]=yesterday-ish');
  assert.equal(bad.status, 400);
});

test('contact/sync refuses an invalid e-mail with 422 and an errors list', async () => {
  // developers.activecampaign.com/reference/sync-a-contacts-data: the e-mail is required and matched on (api-notes
  // §4.2). The 422 {"errors":[{"title","detail","code","source":{"pointer"}}]} shape is the simulator's reading of
  // v3 validation errors (UNCONFIRMED in docs/simulators.md).
  const bad = await api('/contact/sync', { method: 'POST', json: { contact: { email: 'not-an-email', firstName: 'X' } } });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.errors[0].code, 'email_invalid');
  assert.equal(bad.body.errors[0].source.pointer, '/data/attributes/email');
  const missing = await api('/contact/sync', { method: 'POST', json: { contact: { firstName: 'No Mail' } } });
  assert.equal(missing.status, 422);
  const created = await api('/contact/sync', { method: 'POST', json: { contact: { email: 'ac.conf@example.com', firstName: 'Conf' } } });
  assert.equal(created.status, 201);
  const again = await api('/contact/sync', { method: 'POST', json: { contact: { email: 'AC.Conf@example.com', lastName: 'Ormance' } } });
  assert.equal(again.status, 200);
  assert.equal(again.body.contact.id, created.body.contact.id);
});

test('webhooks are form-encoded with bracketed keys and never retried', async () => {
  // developers.activecampaign.com/page/webhooks: data arrives as POST form fields ("contact[email]"), and
  // "Webhooks are never retried".
  const receiver = await startReceiver({ status: 500 });
  try {
    await sim.admin('POST', '/admin/webhooks', { service: 'activecampaign', url: `${receiver.url}/ac?token=secret` });
    await sim.admin('PATCH', '/admin/activecampaign/contacts/3', { firstName: 'Formed' });
    const hit = await receiver.waitFor((r) => r.body.includes('Formed'));
    assert.match(hit.headers['content-type'], /application\/x-www-form-urlencoded/);
    const form = new URLSearchParams(hit.body);
    assert.equal(form.get('type'), 'update');
    assert.equal(form.get('contact[first_name]'), 'Formed');
    assert.equal(form.get('contact[id]'), '3');
    const list = await sim.waitForDeliveries('activecampaign', (l) => l.some((d) => d.state === 'failed'));
    assert.equal(list.find((d) => d.state === 'failed').attempts, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receiver.received.filter((r) => r.body.includes('Formed')).length, 1);
  } finally {
    await receiver.close();
  }
});
