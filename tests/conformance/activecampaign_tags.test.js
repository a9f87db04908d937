'use strict';
// ActiveCampaign API v3 tags, contactTags and contactLists against omnisync-sim over plain HTTP (there is no
// official Node client for v3). Sources: developers.activecampaign.com/reference — "Create a tag"
// (POST /api/3/tags {"tag":{"tag","tagType","description"}}), "List all tags" (`search`), "Add a tag to a
// contact" (POST /api/3/contactTags {"contactTag":{"contact","tag"}}), "Remove a tag from a contact"
// (DELETE /api/3/contactTags/{id}), "Update list status for a contact" (POST /api/3/contactLists, status 1
// subscribe, 2 unsubscribe), and the 5 requests per second limit (429).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startSim, raw } = require('./lib/sim');

let sim;
const H = { 'api-token': 'conformance-token' };
const api = (method, path, json) => raw(method, `${sim.urls.activecampaign.http}/api/3${path}`, { headers: H, json });

before(async () => {
  sim = await startSim();
  await sim.admin('POST', '/admin/limits', { service: 'activecampaign', per_second: 1000 });
});
after(async () => { if (sim) await sim.stop(); });

test('a tag is created, searched by name, added to a contact and removed by the association id', async () => {
  const created = await api('POST', '/tags', { tag: { tag: 'VIP customers', tagType: 'contact', description: '' } });
  assert.equal(created.status, 201);
  const tagId = created.body.tag.id;
  assert.equal(typeof tagId, 'string');
  const found = await api('GET', '/tags?search=vip');
  assert.deepEqual(found.body.tags.map((t) => t.id), [tagId]);
  assert.equal(found.body.meta.total, '1');
  const ct = await api('POST', '/contactTags', { contactTag: { contact: '3', tag: tagId } });
  assert.equal(ct.status, 201);
  assert.equal(ct.body.contactTag.tag, tagId);
  const listed = await api('GET', '/contacts/3/contactTags');
  assert.deepEqual(listed.body.contactTags.map((x) => x.id), [ct.body.contactTag.id]);
  const del = await api('DELETE', `/contactTags/${ct.body.contactTag.id}`);
  assert.equal(del.status, 200);
  assert.equal((await api('GET', '/contacts/3/contactTags')).body.contactTags.length, 0);
  assert.equal((await api('DELETE', `/contactTags/${ct.body.contactTag.id}`)).status, 404);
  const noTag = await api('POST', '/contactTags', { contactTag: { contact: '3', tag: '424242' } });
  assert.equal(noTag.status, 422);
});

test('list status 2 (unsubscribed) is what the API sets; setting 1 re-subscribes', async () => {
  const unsub = await api('POST', '/contactLists', { contactList: { list: 1, contact: 5, status: 2 } });
  assert.ok(unsub.status === 200 || unsub.status === 201);
  assert.equal(unsub.body.contactList.status, '2');
  const resub = await api('POST', '/contactLists', { contactList: { list: 1, contact: 5, status: 1 } });
  assert.equal(resub.body.contactList.status, '1');
  const lists = await api('GET', '/contacts/5/contactLists');
  assert.deepEqual(lists.body.contactLists.map((l) => [l.list, l.status]), [['1', '1']]);
});

test('more than 5 requests in a second answer 429', async () => {
  await sim.admin('POST', '/admin/limits', { service: 'activecampaign', per_second: 5 });
  const statuses = await Promise.all(Array.from({ length: 8 }, () => api('GET', '/tags')).map((p) => p.then((r) => r.status)));
  assert.ok(statuses.includes(429));
  assert.ok(statuses.filter((s) => s === 200).length <= 5);
});
