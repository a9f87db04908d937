'use strict';
// @hubspot/api-client against omnisync-sim: search paging with `after`, list paging, batch upsert by email,
// the properties API, the client's Signature helper accepting the simulator's v1 and v3 webhook signatures, and
// the documented validation, association and webhook-redelivery rules (each case names its source).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const hubspot = require('@hubspot/api-client');
const { startSim, startReceiver, raw } = require('./lib/sim');

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

// ---- validation, associations, single property, webhook redelivery (issue 17) ----------------------------------

async function rejectsHubSpot(promise, status, check) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, status, `expected ${status}, got ${e.code}: ${JSON.stringify(e.body)}`);
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    if (check) check(body);
    return true;
  });
}
// HubSpot's property validation errors embed a JSON list in the message:
// developers.hubspot.com/changelog "Property Validations Rules will be enforced for APIs and Integrations":
// 400 {"status":"error","message":"Property values were not valid: [{\"isValid\":false,\"message\":...,
// \"error\":\"INVALID_ALPHA\",\"name\":\"firstname\"}]","correlationId":...,"category":"VALIDATION_ERROR"}
function propertyErrors(body) {
  assert.equal(body.category, 'VALIDATION_ERROR');
  const prefix = 'Property values were not valid: ';
  assert.ok(body.message.startsWith(prefix), body.message);
  return JSON.parse(body.message.slice(prefix.length));
}

test('coreApi.getByName reads one property; an unknown one is 404', async () => {
  // Properties API: GET /crm/v3/properties/{objectType}/{propertyName} returns the property.
  const email = await client.crm.properties.coreApi.getByName('contacts', 'email');
  assert.equal(email.name, 'email');
  assert.equal(email.type, 'string');
  assert.equal(email.hasUniqueValue, true);
  const stage = await client.crm.properties.coreApi.getByName('contacts', 'lifecyclestage');
  assert.equal(stage.type, 'enumeration');
  assert.ok(stage.options.some((o) => o.value === 'customer'));
  await rejectsHubSpot(client.crm.properties.coreApi.getByName('contacts', 'no_such_property'), 404,
    (b) => assert.equal(b.category, 'OBJECT_NOT_FOUND'));
});

test('an invalid e-mail is 400 VALIDATION_ERROR with INVALID_EMAIL on create, update and batch create', async () => {
  // community.hubspot.com "contacts integration - invalid e-mails" (answer by HubSpot): "HubSpot validates email
  // addresses used for any process that would create or update a contact record"; the error entry is
  // {"isValid":false,...,"error":"INVALID_EMAIL","name":"email"}.
  const check = (b) => {
    const errs = propertyErrors(b);
    assert.equal(errs[0].error, 'INVALID_EMAIL');
    assert.equal(errs[0].name, 'email');
    assert.equal(errs[0].isValid, false);
  };
  await rejectsHubSpot(client.crm.contacts.basicApi.create({ properties: { email: 'not-an-email' } }), 400, check);
  await rejectsHubSpot(client.crm.contacts.basicApi.update('5', { properties: { email: 'also@bad' } }), 400, check);
  await rejectsHubSpot(client.crm.contacts.batchApi.create({
    inputs: [{ properties: { email: 'batch.ok@example.com' } }, { properties: { email: 'batch bad@example.com' } }],
  }), 400, check);
  // Batch create is all or nothing: the valid input was not created either.
  const probe = await client.crm.contacts.searchApi.doSearch({
    filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'batch.ok@example.com' }] }], limit: 1,
  });
  assert.equal(probe.total, 0);
});

test('batch create with objectWriteTraceId on every input answers 207 with the partial failures', async () => {
  // developers.hubspot.com/docs/api-reference/latest/error-handling, "Multi-status errors": "For the object APIs'
  // batch create endpoints, you can enable multi status responses that include partial failures ... include a
  // unique objectWriteTraceId value".
  const res = await raw('POST', `${sim.urls.hubspot.http}/crm/v3/objects/contacts/batch/create`, {
    headers: { authorization: 'Bearer sim-private-app-token' },
    json: { inputs: [
      { objectWriteTraceId: 'trace-1', properties: { email: 'trace.ok@example.com' } },
      { objectWriteTraceId: 'trace-2', properties: { email: 'trace-bad' } },
    ] },
  });
  assert.equal(res.status, 207);
  assert.equal(res.body.results.length, 1);
  assert.equal(res.body.numErrors, 1);
  assert.equal(res.body.errors[0].category, 'VALIDATION_ERROR');
  assert.deepEqual(res.body.errors[0].context.objectWriteTraceId, ['trace-2']);
});

test('batch upsert and update validate like the single endpoints; duplicate ids are refused', async () => {
  // Batch upsert: per-input failures come back as a 207 errors entry (BatchResponseSimplePublicUpsertObjectWithErrors).
  // Duplicates: HubSpot answers 400 "Duplicate IDs found in batch input: [...]. IDs must be unique".
  const res = await client.crm.contacts.batchApi.upsert({
    inputs: [
      { id: 'upsert.valid@example.com', idProperty: 'email', properties: { firstname: 'Valid' } },
      { id: 'upsert.enum@example.com', idProperty: 'email', properties: { lifecyclestage: 'not-a-stage' } },
    ],
  });
  assert.equal(res.results.length, 1);
  assert.equal(res.numErrors, 1);
  assert.equal(res.errors[0].category, 'VALIDATION_ERROR');
  assert.match(res.errors[0].message, /INVALID_OPTION/);
  await rejectsHubSpot(client.crm.contacts.batchApi.upsert({
    inputs: [
      { id: 'dup@example.com', idProperty: 'email', properties: { firstname: 'One' } },
      { id: 'dup@example.com', idProperty: 'email', properties: { firstname: 'Two' } },
    ],
  }), 400, (b) => {
    assert.equal(b.category, 'VALIDATION_ERROR');
    assert.match(b.message, /Duplicate IDs found in batch input/);
  });
  await rejectsHubSpot(client.crm.contacts.batchApi.update({
    inputs: [{ id: '4', properties: { firstname: 'A' } }, { id: '4', properties: { firstname: 'B' } }],
  }), 400, (b) => assert.match(b.message, /Duplicate IDs/));
  const dupSearch = await client.crm.contacts.searchApi.doSearch({
    filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: 'dup@example.com' }] }], limit: 1,
  });
  assert.equal(dupSearch.total, 0);
});

test('enumeration options, numbers, datetimes and whitespace are validated with HubSpot error entries', async () => {
  // developers.hubspot.com/changelog "Enhanced Validations for Non-String Properties": non-string values with
  // leading or trailing whitespace are refused (LEADING_TRAILING_WHITESPACE); enumeration values must be one of
  // the property's options; number properties take plain numbers; datetimes epoch milliseconds or ISO 8601.
  const errorOf = async (properties) => {
    let code;
    await rejectsHubSpot(client.crm.contacts.basicApi.update('6', { properties }), 400,
      (b) => { code = propertyErrors(b)[0].error; });
    return code;
  };
  assert.equal(await errorOf({ lifecyclestage: 'Customer ' }), 'LEADING_TRAILING_WHITESPACE');
  assert.equal(await errorOf({ lifecyclestage: 'vip' }), 'INVALID_OPTION');
  assert.equal(await errorOf({ omnisync_lifetime_value: '12,5' }), 'INVALID_DECIMAL');
  assert.equal(await errorOf({ no_such_property: 'x' }), 'PROPERTY_DOESNT_EXIST');
  assert.equal(await errorOf({ createdate: '2020-01-01T00:00:00Z' }), 'READ_ONLY_VALUE');
  const deal = await client.crm.deals.basicApi.create({ properties: { dealname: 'Dated', closedate: '1767225600000' } });
  assert.ok(deal.id);
  await rejectsHubSpot(client.crm.deals.basicApi.update(deal.id, { properties: { closedate: 'next tuesday' } }), 400,
    (b) => assert.equal(propertyErrors(b)[0].error, 'INVALID_DATETIME'));
  const ok = await client.crm.contacts.basicApi.update('6', { properties: { omnisync_lifetime_value: '1250.5', lifecyclestage: 'lead' } });
  assert.equal(ok.id, '6');
});

test('single-object create takes associations; both sides see them', async () => {
  // Contacts API "Create a contact": "associations": [{"to":{"id":...},"types":[{"associationCategory":
  // "HUBSPOT_DEFINED","associationTypeId":4}]}] (4 = contact to deal).
  const contact = await client.crm.contacts.basicApi.create({
    properties: { email: 'associated@example.com', firstname: 'Assoc' },
    associations: [{ to: { id: '2' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 4 }] }],
  });
  const forward = await client.crm.associations.v4.batchApi.getPage('contacts', 'deals', { inputs: [{ id: contact.id }] });
  assert.deepEqual(forward.results[0].to.map((t) => String(t.toObjectId)), ['2']);
  const back = await client.crm.associations.v4.batchApi.getPage('deals', 'contacts', { inputs: [{ id: '2' }] });
  assert.ok(back.results[0].to.some((t) => String(t.toObjectId) === contact.id));
  // An association type that does not join contacts to deals, or a missing target, is refused.
  await rejectsHubSpot(client.crm.contacts.basicApi.create({
    properties: { email: 'assoc.badtype@example.com' },
    associations: [{ to: { id: '2' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 999 }] }],
  }), 400);
  await rejectsHubSpot(client.crm.contacts.basicApi.create({
    properties: { email: 'assoc.missing@example.com' },
    associations: [{ to: { id: '99999999' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 4 }] }],
  }), 400);
});

test('webhook redelivery: attemptNumber counts up, each attempt has a fresh timestamp and valid v3 signature', async () => {
  // developers.hubspot.com/docs/api/webhooks, "Retries": HubSpot retries a failed notification "up to 10 times",
  // spread "over the next 24 hours" with randomized delays; it retries on connection failures, timeouts and any
  // status except 400, 401, 403, 404 and 405. attemptNumber counts the attempts (0 first); request-validation:
  // X-HubSpot-Signature-v3 signs method + URI + body + X-HubSpot-Request-Timestamp.
  const secret = 'retry-secret';
  let failures = 3;
  const receiver = await startReceiver({ respond: () => (failures-- > 0 ? { status: 503 } : { status: 204 }) });
  try {
    await sim.admin('POST', '/admin/limits', { service: 'hubspot', webhook_time_scale: 0.0001 });
    const url = `${receiver.url}/hs-retry`;
    await sim.admin('POST', '/admin/webhooks', { service: 'hubspot', url, secret });
    await sim.admin('PATCH', '/admin/hubspot/contacts/8', { firstname: 'Redelivered' });
    await receiver.waitFor((r) => r.body.includes('Redelivered') && JSON.parse(r.body)[0].attemptNumber === 3, 20000);
    const hits = receiver.received.filter((r) => r.body.includes('Redelivered'));
    assert.deepEqual(hits.map((r) => JSON.parse(r.body)[0].attemptNumber), [0, 1, 2, 3]);
    assert.equal(new Set(hits.map((r) => JSON.parse(r.body)[0].eventId)).size, 1, 'the same event each time');
    assert.equal(new Set(hits.map((r) => r.headers['x-hubspot-request-timestamp'])).size, hits.length);
    for (const r of hits) {
      assert.equal(hubspot.Signature.isValid({
        signatureVersion: 'v3', signature: r.headers['x-hubspot-signature-v3'], clientSecret: secret,
        requestBody: r.body, url, method: 'POST', timestamp: Number(r.headers['x-hubspot-request-timestamp']),
      }), true);
    }
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'hubspot', webhook_time_scale: 1 });
    await receiver.close();
  }
});

test('webhook redelivery: 404 is not retried; failures stop after 10 retries within 24 h', async () => {
  const receiver = await startReceiver({ respond: (r) => ({ status: r.body.includes('Gone404') ? 404 : 500 }) });
  try {
    await sim.admin('POST', '/admin/limits', { service: 'hubspot', webhook_time_scale: 0.00005 });
    await sim.admin('POST', '/admin/webhooks', { service: 'hubspot', url: `${receiver.url}/hs-fail`, secret: 's' });
    await sim.admin('PATCH', '/admin/hubspot/contacts/9', { firstname: 'Gone404' });
    await sim.admin('PATCH', '/admin/hubspot/contacts/10', { firstname: 'Down500' });
    const list = await sim.waitForDeliveries('hubspot', (l) =>
      ['Gone404', 'Down500'].every((n) => l.some((d) => d.url.endsWith('/hs-fail') && d.state === 'failed'
        && receiver.received.some((r) => r.body.includes(n)))) &&
      l.filter((d) => d.url.endsWith('/hs-fail') && d.state === 'failed').length >= 2, 30000);
    const failed = list.filter((d) => d.url.endsWith('/hs-fail'));
    const attempts = failed.map((d) => d.attempts).sort((a, b) => a - b);
    assert.deepEqual(attempts, [1, 11]);  // 404: once; 500: the first try and 10 retries
    const retried = failed.find((d) => d.attempts === 11);
    assert.ok(retried.pauses_ms.reduce((a, b) => a + b, 0) <= 24 * 3600 * 1000);
    assert.equal(receiver.received.filter((r) => r.body.includes('Gone404')).length, 1);
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'hubspot', webhook_time_scale: 1 });
    await receiver.close();
  }
});
