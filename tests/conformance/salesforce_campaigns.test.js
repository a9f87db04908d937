'use strict';
// jsforce against omnisync-sim: a Campaign, and CampaignMember rows inserted and deleted through sObject
// Collections (jsforce's sobject().create/destroy with arrays use /composite/sobjects, allOrNone false).
// Sources: Salesforce Object Reference "CampaignMember" (CampaignId and ContactId or LeadId required on create;
// not updateable); REST API "sObject Collections" (≤ 200 records, per-record results in order); a second
// membership of one person is refused with DUPLICATE_VALUE ("Already a campaign member.").
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startSim } = require('./lib/sim');

let sim;
let conn;

before(async () => {
  sim = await startSim();
  const base = sim.urls.salesforce.http;
  conn = new jsforce.Connection({
    oauth2: { clientId: 'omnisync-sim-client', clientSecret: 'omnisync-sim-secret', loginUrl: base },
    instanceUrl: base, accessToken: 'stale-session-token', refreshToken: 'omnisync-sim-refresh-token', version: '62.0',
  });
});
after(async () => { if (sim) await sim.stop(); });

test('CampaignMember rows are inserted and deleted through sObject Collections', async () => {
  const campaign = await conn.sobject('Campaign').create({ Name: 'VIP customers', IsActive: true });
  assert.ok(campaign.success);
  const contacts = (await conn.query('SELECT Id FROM Contact ORDER BY Id LIMIT 3')).records.map((r) => r.Id);
  const rows = contacts.map((id) => ({ CampaignId: campaign.id, ContactId: id, Status: 'Sent' }));
  rows.push({ CampaignId: campaign.id, ContactId: contacts[0], Status: 'Sent' });  // same person again
  const res = await conn.sobject('CampaignMember').create(rows, { allOrNone: false });
  assert.equal(res.length, 4);
  assert.ok(res.slice(0, 3).every((r) => r.success));
  assert.equal(res[3].success, false);  // the same person twice in one request
  assert.equal(res[3].errors[0].statusCode, 'DUPLICATE_VALUE');
  const dup = await conn.sobject('CampaignMember').create([{ CampaignId: campaign.id, ContactId: contacts[1], Status: 'Sent' }],
    { allOrNone: false });
  assert.equal(dup[0].success, false);
  assert.equal(dup[0].errors[0].statusCode, 'DUPLICATE_VALUE');
  const members = await conn.query(`SELECT Id, ContactId, HasResponded FROM CampaignMember WHERE CampaignId = '${campaign.id}'`);
  assert.ok(members.records.length >= 3);
  assert.ok(members.records.every((m) => m.HasResponded === false));
  const del = await conn.sobject('CampaignMember').destroy(members.records.map((m) => m.Id), { allOrNone: false });
  assert.ok(del.every((r) => r.success));
  const after = await conn.query(`SELECT Id FROM CampaignMember WHERE CampaignId = '${campaign.id}'`);
  assert.equal(after.records.length, 0);
});

test('a CampaignMember without a campaign, or naming a deleted one, is refused per record', async () => {
  const contact = (await conn.query('SELECT Id FROM Contact ORDER BY Id LIMIT 1')).records[0].Id;
  const missing = await conn.sobject('CampaignMember').create([{ ContactId: contact }], { allOrNone: false });
  assert.equal(missing[0].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
  const c = await conn.sobject('Campaign').create({ Name: 'Short-lived' });
  await conn.sobject('Campaign').destroy(c.id);
  const res = await conn.sobject('CampaignMember').create([{ CampaignId: c.id, ContactId: contact }], { allOrNone: false });
  assert.equal(res[0].success, false);
  assert.equal(res[0].errors[0].statusCode, 'INVALID_CROSS_REFERENCE_KEY');
  assert.deepEqual(res[0].errors[0].fields, ['CampaignId']);
});
