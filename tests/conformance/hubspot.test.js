'use strict';
// @hubspot/api-client against omnisync-sim: search paging with `after`, list paging, batch upsert by email,
// the properties API, and the client's Signature helper accepting the simulator's v1 and v3 webhook signatures.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const hubspot = require('@hubspot/api-client');
const { startSim, startReceiver } = require('./lib/sim');

let sim;
let client;

before(async () => {
  sim = await startSim();
  client = new hubspot.Client({ accessToken: 'sim-private-app-token', basePath: sim.urls.hubspot.http });
});
after(async () => { if (sim) await sim.stop(); });

test('search pages through every contact with after, ascending by lastmodifieddate', async () => {
  const seen = new Set();
  let afterCursor = '0';
  let total = -1;
  let previous = -Infinity;
  for (let page = 0; page < 1000; page++) {
    const res = await client.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: '0' }] }],
      sorts: [{ propertyName: 'lastmodifieddate', direction: 'ASCENDING' }],
      properties: ['email', 'firstname'],
      limit: 100,
      after: afterCursor,
    });
    total = res.total;
    for (const r of res.results) {
      assert.ok(!seen.has(r.id), `duplicate ${r.id}`);
      seen.add(r.id);
      const stamp = Date.parse(r.properties.lastmodifieddate);
      assert.ok(stamp >= previous, 'ascending order');
      previous = stamp;
      assert.ok(r.updatedAt instanceof Date);
    }
    if (!res.paging || !res.paging.next) break;
    afterCursor = res.paging.next.after;
  }
  assert.ok(total > 0);
  assert.equal(seen.size, Math.min(total, 10000));
});

test('basicApi.getPage follows paging.next.after to the end', async () => {
  const ids = [];
  let cursor;
  for (let page = 0; page < 1000; page++) {
    const res = await client.crm.contacts.basicApi.getPage(100, cursor, ['email']);
    ids.push(...res.results.map((r) => Number(r.id)));
    if (!res.paging || !res.paging.next) break;
    cursor = res.paging.next.after;
  }
  assert.ok(ids.length > 0);
  assert.deepEqual([...ids].sort((a, b) => a - b), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('batch upsert by email creates then updates; the record reads back', async () => {
  const email = 'conformance.upsert@example.com';
  const first = await client.crm.contacts.batchApi.upsert({
    inputs: [{ id: email, idProperty: 'email', properties: { firstname: 'Conf', lastname: 'Ormance' } }],
  });
  assert.equal(first.status, 'COMPLETE');
  assert.equal(first.results.length, 1);
  assert.equal(first.results[0]._new ?? first.results[0]['new'], true);
  const id = first.results[0].id;
  const second = await client.crm.contacts.batchApi.upsert({
    inputs: [{ id: email, idProperty: 'email', properties: { firstname: 'Confirmed' } }],
  });
  assert.equal(second.results[0].id, id);
  assert.equal(second.results[0]._new ?? second.results[0]['new'], false);
  const read = await client.crm.contacts.basicApi.getById(id, ['firstname', 'email']);
  assert.equal(read.properties.firstname, 'Confirmed');
  assert.equal(read.properties.email, email);
});

test('properties API lists typed properties with options', async () => {
  const res = await client.crm.properties.coreApi.getAll('contacts');
  const stage = res.results.find((p) => p.name === 'lifecyclestage');
  assert.ok(stage);
  assert.equal(stage.type, 'enumeration');
  assert.ok(stage.options.length > 3);
});

test('Signature.isValid accepts the v3 and v1 signatures of simulator webhooks', async () => {
  const receiver = await startReceiver();
  try {
    const secret = 'conformance-client-secret';
    const url = `${receiver.url}/webhooks/hubspot?portal=1`;
    await sim.admin('POST', '/admin/webhooks', { service: 'hubspot', url, secret });
    // An admin edit looks like a person in HubSpot's UI.
    await sim.admin('PATCH', '/admin/hubspot/contacts/2', { firstname: 'Hooked' });
    const req = await receiver.waitFor((r) => r.body.includes('"Hooked"'));
    const events = JSON.parse(req.body);
    assert.ok(Array.isArray(events));
    const change = events.find((e) => e.propertyName === 'firstname');
    assert.equal(change.subscriptionType, 'contact.propertyChange');
    assert.equal(change.changeSource, 'CRM_UI');
    assert.equal(change.objectId, 2);
    assert.equal(req.headers['x-hubspot-signature-version'], 'v1');
    assert.equal(hubspot.Signature.isValid({
      signatureVersion: 'v3',
      signature: req.headers['x-hubspot-signature-v3'],
      clientSecret: secret,
      requestBody: req.body,
      url,
      method: 'POST',
      timestamp: Number(req.headers['x-hubspot-request-timestamp']),
    }), true);
    assert.equal(hubspot.Signature.isValid({
      signatureVersion: 'v1', signature: req.headers['x-hubspot-signature'], clientSecret: secret, requestBody: req.body,
    }), true);
    assert.equal(hubspot.Signature.isValid({
      signatureVersion: 'v1', signature: req.headers['x-hubspot-signature'], clientSecret: 'wrong', requestBody: req.body,
    }), false);

    // A write through the API is reported as the integration's own change.
    await client.crm.contacts.basicApi.update('3', { properties: { firstname: 'ViaApi' } });
    const own = await receiver.waitFor((r) => r.body.includes('"ViaApi"'));
    const ownEvent = JSON.parse(own.body).find((e) => e.propertyValue === 'ViaApi');
    assert.equal(ownEvent.changeSource, 'INTEGRATION');
    assert.equal(String(ownEvent.sourceId), String(ownEvent.appId));
  } finally {
    await receiver.close();
  }
});

test('batch upsert with one invalid input answers 207 and the client keeps results and errors', async () => {
  const res = await client.crm.contacts.batchApi.upsert({
    inputs: [
      { id: 'conf.partial.ok@example.com', idProperty: 'email', properties: { firstname: 'Ok' } },
      { id: 'conf.partial.bad@example.com', idProperty: 'email', properties: { no_such_property: 'x' } },
    ],
  });
  assert.equal(res.results.length, 1);
  assert.equal(res.numErrors, 1);
  assert.equal(res.errors[0].category, 'VALIDATION_ERROR');
});

test('paging a search past the result cap fails with 400 VALIDATION_ERROR', async () => {
  // The cap is 10,000 in HubSpot; lowered here so the test pages only a few hundred records.
  await sim.admin('POST', '/admin/limits', { service: 'hubspot', search_result_cap: 300 });
  try {
    let afterCursor;
    let pages = 0;
    let error;
    for (; pages < 10; pages++) {
      try {
        const res = await client.crm.contacts.searchApi.doSearch({ limit: 100, after: afterCursor, sorts: [], properties: [] });
        if (!res.paging) break;
        afterCursor = res.paging.next.after;
      } catch (e) {
        error = e;
        break;
      }
    }
    assert.equal(pages, 3);
    assert.ok(error, 'the fourth page must fail');
    assert.equal(error.code, 400);
    assert.equal(error.body.category, 'VALIDATION_ERROR');
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'hubspot', search_result_cap: 10000 });
  }
});

test('the ten-secondly limit answers 429 with the documented body', async () => {
  await sim.admin('POST', '/admin/limits', { service: 'hubspot', ten_secondly_max: 1 });
  try {
    await client.crm.contacts.basicApi.getPage(1);
    await assert.rejects(client.crm.contacts.basicApi.getPage(1), (e) => {
      assert.equal(e.code, 429);
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      assert.equal(body.policyName, 'TEN_SECONDLY_ROLLING');
      return true;
    });
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'hubspot', ten_secondly_max: 190 });
  }
});

test('oauth.tokensApi.create exchanges a refresh token; a bad one is 400 BAD_REFRESH_TOKEN', async () => {
  await sim.admin('POST', '/admin/limits', {
    service: 'hubspot', oauth_client_id: 'conf-client', oauth_client_secret: 'conf-secret', oauth_refresh_token: 'conf-rt',
  });
  try {
    const anon = new hubspot.Client({ basePath: sim.urls.hubspot.http });
    const tokens = await anon.oauth.tokensApi.create('refresh_token', undefined, undefined, 'conf-client',
      'conf-secret', 'conf-rt');
    assert.equal(tokens.tokenType, 'bearer');
    assert.equal(tokens.expiresIn, 1800);
    assert.equal(tokens.refreshToken, 'conf-rt');
    assert.ok(tokens.accessToken.length > 10);
    // The issued access token authorizes CRM calls.
    const authed = new hubspot.Client({ accessToken: tokens.accessToken, basePath: sim.urls.hubspot.http });
    const page = await authed.crm.contacts.basicApi.getPage(1);
    assert.equal(page.results.length, 1);
    await assert.rejects(
      anon.oauth.tokensApi.create('refresh_token', undefined, undefined, 'conf-client', 'conf-secret', 'revoked'),
      (e) => {
        assert.equal(e.code, 400);
        const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
        assert.equal(body.status, 'BAD_REFRESH_TOKEN');
        return true;
      });
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'hubspot', oauth_client_id: '', oauth_client_secret: '', oauth_refresh_token: '' });
  }
});
