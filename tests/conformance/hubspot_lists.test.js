'use strict';
// @hubspot/api-client's lists API (crm.lists) against omnisync-sim: a MANUAL list created and found by name,
// memberships changed with add-and-remove (the client's MembershipsUpdateResponse reads recordIdsRemoved,
// recordsIdsAdded and recordIdsMissing), paged memberships, and a deleted list answering 404.
// Source: developers.hubspot.com/docs/api-reference/crm/lists — "Update list membership: Add and/or remove
// records that have already been created in the system to and/or from a list. This endpoint only works for lists
// that have a processingType of MANUAL or SNAPSHOT."; "Add Records to a List: Records that do not exist or that
// are already members of the list are ignored."
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const hubspot = require('@hubspot/api-client');
const { startSim } = require('./lib/sim');

let sim;
let client;

before(async () => {
  sim = await startSim();
  client = new hubspot.Client({ accessToken: 'sim-private-app-token', basePath: sim.urls.hubspot.http });
});
after(async () => { if (sim) await sim.stop(); });

test('a MANUAL list is created, then found by name and object type', async () => {
  const created = await client.crm.lists.listsApi.create({ name: 'VIP', objectTypeId: '0-1', processingType: 'MANUAL' });
  assert.equal(created.list.name, 'VIP');
  assert.equal(created.list.processingType, 'MANUAL');
  assert.equal(created.list.objectTypeId, '0-1');
  const found = await client.crm.lists.listsApi.getByName('VIP', '0-1');
  assert.equal(found.list.listId, created.list.listId);
  const byId = await client.crm.lists.listsApi.getById(created.list.listId);
  assert.equal(byId.list.name, 'VIP');
  // "Lists API: list names must be unique" — a second list of the same name is refused.
  await assert.rejects(client.crm.lists.listsApi.create({ name: 'VIP', objectTypeId: '0-1', processingType: 'MANUAL' }),
    (e) => e.code === 400);
});

test('add-and-remove answers recordIdsRemoved, recordsIdsAdded and recordIdsMissing', async () => {
  const { list } = await client.crm.lists.listsApi.create({ name: 'Churn', objectTypeId: '0-1', processingType: 'MANUAL' });
  const r = await client.crm.lists.membershipsApi.addAndRemove(list.listId,
    { recordIdsToAdd: ['1', '2', '3', '999999999'], recordIdsToRemove: [] });
  assert.deepEqual([...r.recordsIdsAdded].sort(), ['1', '2', '3']);
  assert.deepEqual(r.recordIdsMissing, ['999999999']);
  const again = await client.crm.lists.membershipsApi.addAndRemove(list.listId,
    { recordIdsToAdd: ['1'], recordIdsToRemove: ['2', '4'] });
  assert.deepEqual(again.recordsIdsAdded, []);  // already a member: ignored
  assert.deepEqual(again.recordIdsRemoved, ['2']);
  const page = await client.crm.lists.membershipsApi.getPage(list.listId, undefined, undefined, 1);
  assert.equal(page.results.length, 1);
  assert.ok(page.results[0].membershipTimestamp instanceof Date);
  const rest = await client.crm.lists.membershipsApi.getPage(list.listId, page.paging.next.after, undefined, 100);
  const ids = [...page.results, ...rest.results].map((m) => m.recordId);
  assert.deepEqual(ids, ['1', '3']);
});

test('a DYNAMIC list refuses membership changes, and a deleted list answers 404', async () => {
  const dyn = await client.crm.lists.listsApi.create({
    name: 'Dyn', objectTypeId: '0-1', processingType: 'DYNAMIC',
    filterBranch: { filterBranchType: 'OR', filterBranches: [], filters: [] },
  });
  await assert.rejects(client.crm.lists.membershipsApi.addAndRemove(dyn.list.listId,
    { recordIdsToAdd: ['1'], recordIdsToRemove: [] }), (e) => e.code === 400);
  const { list } = await client.crm.lists.listsApi.create({ name: 'Gone', objectTypeId: '0-1', processingType: 'MANUAL' });
  await client.crm.lists.listsApi.remove(list.listId);
  await assert.rejects(client.crm.lists.listsApi.getById(list.listId), (e) => e.code === 404);
  await assert.rejects(client.crm.lists.membershipsApi.addAndRemove(list.listId,
    { recordIdsToAdd: ['1'], recordIdsToRemove: [] }), (e) => e.code === 404);
  await assert.rejects(client.crm.lists.listsApi.getByName('Gone', '0-1'), (e) => e.code === 404);
});
