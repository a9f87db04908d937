'use strict';
// jsforce against omnisync-sim's Salesforce (part A's simulator): the OAuth refresh flow on a stale session,
// query with autoFetch across nextRecordsUrl pages, single upsert by external id (created, then updated),
// and sObject Collections (create, array upsert) with per-record results in order.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startSim } = require('./lib/sim');

const EXT_ID = 'Omnisync_Id__c';
let sim;
let conn;
let refreshes = 0;

before(async () => {
  sim = await startSim();
  const base = sim.urls.salesforce.http;
  conn = new jsforce.Connection({
    oauth2: { clientId: 'omnisync-sim-client', clientSecret: 'omnisync-sim-secret', loginUrl: base },
    instanceUrl: base,
    accessToken: 'stale-session-token',
    refreshToken: 'omnisync-sim-refresh-token',
    version: '62.0',
  });
  conn.on('refresh', () => { refreshes += 1; });
});
after(async () => { if (sim) await sim.stop(); });

test('a stale session is refreshed with the refresh token, then query autoFetches every page', async () => {
  const res = await conn.query('SELECT Id, Email, SystemModstamp FROM Contact ORDER BY SystemModstamp', {
    autoFetch: true,
    maxFetch: 1000000,
    headers: { 'Sforce-Query-Options': 'batchSize=200' },
  });
  assert.ok(refreshes >= 1, 'jsforce refreshed the session');
  assert.notEqual(conn.accessToken, 'stale-session-token');
  assert.ok(res.totalSize > 200, `expected more than one page, totalSize=${res.totalSize}`);
  assert.equal(res.records.length, res.totalSize);
  assert.equal(new Set(res.records.map((r) => r.Id)).size, res.records.length);
  assert.equal(res.records[0].attributes.type, 'Contact');
});

test('sobject().upsert by external id creates, then updates', async () => {
  const first = await conn.sobject('Contact').upsert({ [EXT_ID]: 'conf-upsert-1', LastName: 'Conformance', Email: 'conf.sf@example.com' }, EXT_ID);
  assert.equal(first.success, true);
  assert.equal(first.created, true);
  const second = await conn.sobject('Contact').upsert({ [EXT_ID]: 'conf-upsert-1', LastName: 'Conformance Two' }, EXT_ID);
  assert.equal(second.success, true);
  assert.equal(second.created, false);
  assert.equal(second.id, first.id);
  const rec = await conn.sobject('Contact').retrieve(first.id);
  assert.equal(rec.LastName, 'Conformance Two');
});

test('collections create and array upsert return per-record results in order', async () => {
  const created = await conn.sobject('Contact').create([{ LastName: 'Coll A' }, { LastName: 'Coll B' }], { allOrNone: false });
  assert.equal(created.length, 2);
  assert.ok(created.every((r) => r.success && r.id));
  const upserted = await conn.sobject('Contact').upsert(
    [{ [EXT_ID]: 'conf-coll-1', LastName: 'X' }, { [EXT_ID]: 'conf-upsert-1', LastName: 'Y' }], EXT_ID);
  assert.equal(upserted.length, 2);
  assert.equal(upserted[0].created, true);
  assert.equal(upserted[1].created, false);
});
