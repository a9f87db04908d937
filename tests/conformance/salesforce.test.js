'use strict';
// jsforce against omnisync-sim's Salesforce, plus raw HTTP where jsforce exposes nothing: each case names the
// documented behaviour it checks (a Salesforce documentation page and the sentence it relies on).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const jsforce = require('jsforce');
const { startSim, startReceiver, raw } = require('./lib/sim');

const EXT_ID = 'Omnisync_Id__c';
const V = '62.0';
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
    version: V,
  });
  conn.on('refresh', () => { refreshes += 1; });
});
after(async () => { if (sim) await sim.stop(); });

// A bearer token for raw calls, from the client-credentials grant.
async function token() {
  const res = await raw('POST', `${sim.urls.salesforce.http}/services/oauth2/token`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=raw-client&client_secret=raw-secret',
  });
  assert.equal(res.status, 200);
  return res.body.access_token;
}
async function rawApi(method, path, json) {
  return raw(method, `${sim.urls.salesforce.http}/services/data/v${V}${path}`,
    { headers: { authorization: `Bearer ${await token()}` }, json });
}
async function rejectsWith(promise, code) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.errorCode, code, `expected ${code}, got ${e.errorCode}: ${e.message}`);
    return true;
  });
}

// ---- OAuth and query ------------------------------------------------------------------------------------------

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

test('the token response signature is the documented HMAC-SHA256 of id + issued_at', async () => {
  // help.salesforce.com "OAuth 2.0 Client Credentials Flow" / "Refresh Token Flow": signature is a
  // "Base64-encoded HMAC-SHA256 signature signed with the client_secret (private key) containing the
  // concatenated ID and issued_at value".
  const secret = 'sig-secret';
  const res = await raw('POST', `${sim.urls.salesforce.http}/services/oauth2/token`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=sig-client&client_secret=${secret}`,
  });
  assert.equal(res.status, 200);
  const expected = crypto.createHmac('sha256', secret).update(res.body.id + res.body.issued_at).digest('base64');
  assert.equal(res.body.signature, expected);
  assert.match(res.body.issued_at, /^\d{13}$/);  // epoch milliseconds as a string
  const wrong = crypto.createHmac('sha256', 'other').update(res.body.id + res.body.issued_at).digest('base64');
  assert.notEqual(res.body.signature, wrong);
});

test('nextRecordsUrl carries a query locator in the documented form', async () => {
  // developer.salesforce.com api_rest resources_query.htm: "nextRecordsUrl":
  // "/services/data/v62.0/query/01gD0000002HU6KIAW-2000" — an 18-character locator id, a dash, the offset.
  const headers = { authorization: `Bearer ${await token()}`, 'sforce-query-options': 'batchSize=200' };
  const base = `${sim.urls.salesforce.http}/services/data/v${V}`;
  const first = await raw('GET', `${base}/query?q=${encodeURIComponent('SELECT Id FROM Contact')}`, { headers });
  assert.equal(first.status, 200);
  assert.equal(first.body.done, false);
  assert.match(first.body.nextRecordsUrl, new RegExp(`^/services/data/v${V.replace('.', '\\.')}/query/01g[0-9A-Za-z]{15}-200$`));
  const second = await raw('GET', sim.urls.salesforce.http + first.body.nextRecordsUrl, { headers });
  assert.equal(second.status, 200);
  assert.match(second.body.nextRecordsUrl, /\/query\/01g[0-9A-Za-z]{15}-400$/);
  const all = await raw('GET', `${base}/queryAll?q=${encodeURIComponent('SELECT Id FROM Contact')}`, { headers });
  assert.match(all.body.nextRecordsUrl, /\/query\/01g[0-9A-Za-z]{15}-200$/);
});

test('SOQL: a quoted datetime literal is INVALID_FIELD, the documented unquoted form works', async () => {
  // SOQL reference, "Date Formats and Date Literals": "For a fieldExpression that uses date formats, the date is
  // not enclosed in single quotes. Don't use quotes around the date."
  await rejectsWith(conn.query("SELECT Id FROM Contact WHERE SystemModstamp > '2020-01-01T00:00:00Z'"), 'INVALID_FIELD');
  await assert.rejects(conn.query("SELECT Id FROM Contact WHERE SystemModstamp > '2020-01-01T00:00:00Z'"),
    /should not be enclosed in quotes/);
  const ok = await conn.query('SELECT Id FROM Contact WHERE SystemModstamp > 2020-01-01T00:00:00Z LIMIT 5');
  assert.equal(ok.records.length, 5);
  // The other documented forms: a +hh:mm / -hh:mm offset.
  const offset = await conn.query('SELECT Id FROM Contact WHERE SystemModstamp > 2020-01-01T02:00:00+02:00 LIMIT 1');
  assert.equal(offset.records.length, 1);
});

test('SOQL: a date format filters only date fields, a dateTime format only dateTime fields', async () => {
  // Same page: "If you specify a dateTime format in a query, you can filter only on dateTime fields. Similarly, if
  // you specify a date format value, you can filter only on date fields."
  await rejectsWith(conn.query('SELECT Id FROM Contact WHERE CreatedDate > 2020-01-01'), 'INVALID_FIELD');
  await rejectsWith(conn.query('SELECT Id FROM Opportunity WHERE CloseDate > 2020-01-01T00:00:00Z'), 'INVALID_FIELD');
  const dates = await conn.query('SELECT Id, CloseDate FROM Opportunity WHERE CloseDate > 2020-01-01 LIMIT 3');
  assert.equal(dates.records.length, 3);
  // An offset without the colon is not one of the documented forms.
  await rejectsWith(conn.query('SELECT Id FROM Contact WHERE CreatedDate > 2020-01-01T00:00:00+0000'), 'MALFORMED_QUERY');
});

test('SOQL: literals must match the field type (strings quoted, numbers and booleans not)', async () => {
  // SOQL reference, "fieldExpression Syntax": strings are in single quotes; numbers, booleans (TRUE/FALSE) and
  // null are not. Salesforce answers INVALID_FIELD ("value of filter criterion for field ... must be of type ...").
  await rejectsWith(conn.query('SELECT Id FROM Contact WHERE Email = 42'), 'INVALID_FIELD');
  await rejectsWith(conn.query("SELECT Id FROM Contact WHERE IsDeleted = 'false'"), 'INVALID_FIELD');
  await rejectsWith(conn.query("SELECT Id FROM Contact WHERE Lead_Score__c > '10'"), 'INVALID_FIELD');
  const ok = await conn.query('SELECT Id FROM Contact WHERE Lead_Score__c > 10 AND IsDeleted = false LIMIT 2');
  assert.equal(ok.records.length, 2);
});

test('SOQL: an invalid record id in a filter is refused, <> is a synonym of !=, object names ignore case', async () => {
  // SOQL reference, "Comparison Operators": "!=" and "<>" both mean not equals. Object names are
  // case-insensitive like every API name.
  await rejectsWith(conn.query("SELECT Id FROM Contact WHERE Id = 'not-an-id'"), 'INVALID_QUERY_FILTER_OPERATOR');
  const ne = await conn.query("SELECT Id FROM Contact WHERE Id <> '003000000000001AAA' LIMIT 1");
  assert.equal(ne.records.length, 1);
  const lower = await conn.query('SELECT Id FROM contact LIMIT 1');
  assert.equal(lower.records[0].attributes.type, 'Contact');
  await rejectsWith(conn.query('SELECT Id, Id FROM Contact'), 'MALFORMED_QUERY');  // "duplicate field selected"
});

// ---- single records --------------------------------------------------------------------------------------

test('single-record create, update, retrieve and delete (sObject Basic Information / sObject Rows)', async () => {
  // resources_sobject_basic_info_post: POST /sobjects/Contact answers 201 {"id":...,"success":true,"errors":[]};
  // resources_sobject_retrieve_patch / _delete: PATCH and DELETE /sobjects/Contact/{id} answer 204 No Content.
  const created = await conn.sobject('Contact').create({ LastName: 'Single', Email: 'single@example.com' });
  assert.equal(created.success, true);
  assert.match(created.id, /^003[0-9A-Za-z]{15}$/);
  const updated = await conn.sobject('Contact').update({ Id: created.id, FirstName: 'Solo' });
  assert.equal(updated.success, true);
  const rec = await conn.sobject('Contact').retrieve(created.id);
  assert.equal(rec.FirstName, 'Solo');
  assert.equal(rec.LastName, 'Single');
  const partial = await conn.sobject('Contact').retrieve(created.id, { fields: ['LastName'] });
  assert.deepEqual(Object.keys(partial).filter((k) => k !== 'attributes').sort(), ['Id', 'LastName']);
  const removed = await conn.sobject('Contact').destroy(created.id);
  assert.equal(removed.success, true);
  await rejectsWith(conn.sobject('Contact').retrieve(created.id), 'NOT_FOUND');
  await rejectsWith(conn.sobject('Contact').destroy(created.id), 'ENTITY_IS_DELETED');
  await rejectsWith(conn.sobject('Contact').update({ Id: created.id, FirstName: 'Ghost' }), 'ENTITY_IS_DELETED');
});

test('sObject Collections GET and POST retrieve several records, null where one is missing', async () => {
  // resources_composite_sobjects_collections_retrieve: GET /composite/sobjects/{SObjectName}?ids=..&fields=..
  // (or POST with {"ids":[...],"fields":[...]}) returns the records in order, null for ids that match nothing.
  const a = await conn.sobject('Contact').create({ LastName: 'Many A' });
  const b = await conn.sobject('Contact').create({ LastName: 'Many B' });
  const missing = '003999999999999AAA';
  const got = await conn.sobject('Contact').retrieve([a.id, missing, b.id], { fields: ['LastName'] });
  assert.equal(got.length, 3);
  assert.equal(got[0].LastName, 'Many A');
  assert.equal(got[1], null);
  assert.equal(got[2].LastName, 'Many B');
  const viaGet = await rawApi('GET', `/composite/sobjects/Contact?ids=${b.id},${a.id}&fields=LastName,Email`);
  assert.equal(viaGet.status, 200);
  assert.deepEqual(viaGet.body.map((r) => r.LastName), ['Many B', 'Many A']);
  assert.ok('Email' in viaGet.body[0]);
  const noFields = await rawApi('GET', `/composite/sobjects/Contact?ids=${a.id}`);
  assert.equal(noFields.status, 400);  // fields is required
});

test('Get Updated and Get Deleted list what changed in a window', async () => {
  // resources_getupdated: {"ids":[...],"latestDateCovered":...}; "The specified startDate must chronologically
  // precede the specified endDate value" (INVALID_REPLICATION_DATE). resources_getdeleted: deletedRecords.
  const start = new Date(Date.now() - 5 * 60000);
  const kept = await conn.sobject('Contact').create({ LastName: 'Replicated' });
  const gone = await conn.sobject('Contact').create({ LastName: 'Replicated Then Deleted' });
  await conn.sobject('Contact').destroy(gone.id);
  const end = new Date(Date.now() + 5 * 60000);
  const updated = await conn.sobject('Contact').updated(start, end);
  assert.ok(updated.ids.includes(kept.id));
  assert.ok(!updated.ids.includes(gone.id), 'a deleted record is reported by getDeleted, not getUpdated');
  assert.match(updated.latestDateCovered, /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000\+0000$/);  // whole minutes
  const deleted = await conn.sobject('Contact').deleted(start, end);
  assert.ok(deleted.deletedRecords.some((r) => r.id === gone.id));
  assert.ok(!deleted.deletedRecords.some((r) => r.id === kept.id));
  await rejectsWith(conn.sobject('Contact').updated(end, start), 'INVALID_REPLICATION_DATE');
  const old = new Date(Date.now() - 40 * 86400000);
  await rejectsWith(conn.sobject('Contact').updated(old, end), 'INVALID_REPLICATION_DATE');  // more than 30 days back
});

// ---- metadata and limits ----------------------------------------------------------------------------------

test('describeGlobal lists every object with the keys clients read', async () => {
  // resources_describeGlobal: {"encoding":"UTF-8","maxBatchSize":200,"sobjects":[{name,label,labelPlural,keyPrefix,
  // createable,deletable,queryable,updateable,custom,urls:{sobject,describe,rowTemplate}}]}
  const g = await conn.describeGlobal();
  assert.equal(g.encoding, 'UTF-8');
  assert.equal(g.maxBatchSize, 200);
  const contact = g.sobjects.find((s) => s.name === 'Contact');
  assert.equal(contact.label, 'Contact');
  assert.equal(contact.labelPlural, 'Contacts');
  assert.equal(contact.keyPrefix, '003');
  assert.equal(contact.createable, true);
  assert.equal(contact.deletable, true);
  assert.equal(contact.urls.describe, `/services/data/v${V}/sobjects/Contact/describe`);
  assert.equal(contact.urls.rowTemplate, `/services/data/v${V}/sobjects/Contact/{ID}`);
  assert.ok(['Account', 'Lead', 'Opportunity', 'Case'].every((n) => g.sobjects.some((s) => s.name === n)));
});

test('describe carries object and field keys: label, soapType, picklistValues, unique, filterable', async () => {
  // resources_sobject_describe / Field in the SOAP API reference: label, labelPlural, createable, deletable, urls;
  // per field label, soapType (xsd:string, tns:ID, xsd:double, ...), picklistValues, restrictedPicklist, unique,
  // filterable.
  const d = await conn.sobject('Contact').describe();
  assert.equal(d.label, 'Contact');
  assert.equal(d.labelPlural, 'Contacts');
  assert.equal(d.createable, true);
  assert.equal(d.deletable, true);
  assert.equal(d.urls.sobject, `/services/data/v${V}/sobjects/Contact`);
  const f = (n) => d.fields.find((x) => x.name === n);
  assert.equal(f('Id').soapType, 'tns:ID');
  assert.equal(f('Email').soapType, 'xsd:string');
  assert.equal(f('Email').label, 'Email');
  assert.equal(f('Lead_Score__c').soapType, 'xsd:double');
  assert.equal(f('CreatedDate').soapType, 'xsd:dateTime');
  assert.equal(f('Omnisync_Id__c').unique, true);
  assert.equal(f('Email').filterable, true);
  const stage = f('Lifecycle_Stage__c');
  assert.equal(stage.restrictedPicklist, true);
  assert.deepEqual(stage.picklistValues.map((p) => p.value), ['Lead', 'MQL', 'SQL', 'Customer', 'Evangelist']);
  assert.ok(stage.picklistValues.every((p) => p.active === true && typeof p.label === 'string'));
});

test('limits reports the daily API budget the Sforce-Limit-Info header counts', async () => {
  // resources_limits: {"DailyApiRequests":{"Max":15000,"Remaining":14998}, ...}; headers_api_usage:
  // "Sforce-Limit-Info: api-usage=18/5000".
  const limits = await conn.limits();
  assert.equal(limits.DailyApiRequests.Max, 15000);
  const probe = await rawApi('GET', '/limits');
  const [used, max] = probe.headers.get('sforce-limit-info').replace('api-usage=', '').split('/').map(Number);
  assert.equal(max, 15000);
  assert.equal(probe.body.DailyApiRequests.Remaining, max - used);
});

// ---- writes: validation, upsert rules -------------------------------------------------------------------------

test('an invalid e-mail address is INVALID_EMAIL_ADDRESS on the single and the collection paths', async () => {
  // api_rest errorcodes / StatusCode INVALID_EMAIL_ADDRESS: "An email address is invalid." Per record in
  // collections (resources_composite_sobjects_collections_create: "Error information is returned in the errors
  // array").
  await rejectsWith(conn.sobject('Contact').create({ LastName: 'Bad Mail', Email: 'not-an-email' }), 'INVALID_EMAIL_ADDRESS');
  const results = await conn.sobject('Contact').create(
    [{ LastName: 'Good Mail', Email: 'good@example.com' }, { LastName: 'Bad Mail', Email: 'two@@example' }],
    { allOrNone: false });
  assert.equal(results[0].success, true);
  assert.equal(results[1].success, false);
  assert.equal(results[1].errors[0].statusCode, 'INVALID_EMAIL_ADDRESS');
  assert.deepEqual(results[1].errors[0].fields, ['Email']);
});

test('allOrNone rolls the whole batch back when one record is invalid', async () => {
  // resources_composite_sobjects_collections_create: allOrNone "Indicates whether to roll back the entire request
  // when the creation of any object fails"; the others carry ALL_OR_NONE_OPERATION_ROLLED_BACK.
  const before = await conn.query("SELECT Id FROM Contact WHERE LastName = 'Rollback Probe'");
  const results = await conn.sobject('Contact').create(
    [{ LastName: 'Rollback Probe', Email: 'ok@example.com' }, { LastName: 'Rollback Probe', Email: 'nope' }],
    { allOrNone: true });
  assert.deepEqual(results.map((r) => r.success), [false, false]);
  assert.equal(results[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK');
  assert.equal(results[1].errors[0].statusCode, 'INVALID_EMAIL_ADDRESS');
  const afterwards = await conn.query("SELECT Id FROM Contact WHERE LastName = 'Rollback Probe'");
  assert.equal(afterwards.totalSize, before.totalSize);
});

test('restricted picklists, numbers, dates and lengths are validated with Salesforce status codes', async () => {
  // StatusCode reference: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST ("bad value for restricted picklist field"),
  // NUMBER_OUTSIDE_VALID_RANGE, STRING_TOO_LONG; a value that cannot be read as the field's JSON type fails the
  // whole request with JSON_PARSER_ERROR (400).
  await rejectsWith(conn.sobject('Contact').create({ LastName: 'Pick', Lifecycle_Stage__c: 'Bogus' }),
    'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
  const fine = await conn.sobject('Contact').create({ LastName: 'Pick', Lifecycle_Stage__c: 'MQL' });
  assert.equal(fine.success, true);
  await rejectsWith(conn.sobject('Contact').create({ LastName: 'Num', Lead_Score__c: 'twelve' }), 'JSON_PARSER_ERROR');
  await rejectsWith(conn.sobject('Contact').create({ LastName: 'Num', Lead_Score__c: 1e20 }), 'NUMBER_OUTSIDE_VALID_RANGE');
  await rejectsWith(conn.sobject('Opportunity').create({ Name: 'D', StageName: 'Prospecting', CloseDate: '2026-13-45' }),
    'JSON_PARSER_ERROR');
  await rejectsWith(conn.sobject('Contact').create({ LastName: 'x'.repeat(81) }), 'STRING_TOO_LONG');
  const many = await conn.sobject('Contact').create([{ LastName: 'Pick' }, { LastName: 'Pick', Lifecycle_Stage__c: 'Nope' }]);
  assert.equal(many[1].errors[0].statusCode, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
});

test('sobject().upsert by external id creates, then updates', async () => {
  // dome_upsert: created 201 {"created":true}, updated 200 {"created":false} from v46.0.
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

test('upsert with ?updateOnly=true is 404 for an unknown external id and creates nothing', async () => {
  // dome_upsert: "If you want to update a record but not create it if it doesn't exist, add the updateOnly
  // parameter to the URL"; a missing record is then 404 NOT_FOUND.
  const path = `/sobjects/Contact/${EXT_ID}/conf-update-only`;
  const missing = await rawApi('PATCH', `${path}?updateOnly=true`, { LastName: 'Never Created' });
  assert.equal(missing.status, 404);
  assert.equal(missing.body[0].errorCode, 'NOT_FOUND');
  const none = await conn.query(`SELECT Id FROM Contact WHERE ${EXT_ID} = 'conf-update-only'`);
  assert.equal(none.totalSize, 0);
  const created = await rawApi('PATCH', path, { LastName: 'Now Created' });
  assert.equal(created.status, 201);
  const updated = await rawApi('PATCH', `${path}?updateOnly=true`, { LastName: 'Updated Only' });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.created, false);
});

test('collections create and array upsert return per-record results in order; an Id in an upsert fails', async () => {
  // resources_composite_sobjects_collections_upsert: "Only external ids are supported. Don't use record ids."
  const created = await conn.sobject('Contact').create([{ LastName: 'Coll A' }, { LastName: 'Coll B' }], { allOrNone: false });
  assert.equal(created.length, 2);
  assert.ok(created.every((r) => r.success && r.id));
  const upserted = await conn.sobject('Contact').upsert(
    [{ [EXT_ID]: 'conf-coll-1', LastName: 'X' }, { [EXT_ID]: 'conf-upsert-1', LastName: 'Y' },
      { [EXT_ID]: 'conf-coll-2', LastName: 'Z', Id: created[0].id }], EXT_ID);
  assert.equal(upserted.length, 3);
  assert.equal(upserted[0].created, true);
  assert.equal(upserted[1].created, false);
  assert.equal(upserted[2].success, false);
  assert.equal(upserted[2].errors[0].statusCode, 'INVALID_FIELD');
  const none = await conn.query(`SELECT Id FROM Contact WHERE ${EXT_ID} = 'conf-coll-2'`);
  assert.equal(none.totalSize, 0);
});

// ---- Outbound Messages ----------------------------------------------------------------------------------------

const ACK = '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
  + '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
  + '</notificationsResponse></soapenv:Body></soapenv:Envelope>';

function notificationIds(body) {
  return [...body.matchAll(/<Notification><Id>([^<]+)<\/Id>/g)].map((m) => m[1]);
}

test('Outbound Messages: only the SOAP notificationsResponse in its namespace acknowledges', async () => {
  // sforce_api_om_outboundmessaging_wsdl: the listener answers notificationsResponse (namespace
  // http://soap.sforce.com/2005/09/outbound) holding Ack=true; anything else is a failed delivery, retried.
  let mode = 'bare';
  const receiver = await startReceiver({
    respond: () => (mode === 'bare' ? { status: 200, body: '<Ack>true</Ack>' }
      : mode === 'wrong-ns' ? { status: 200, body: ACK.replace('2005/09/outbound', '2005/09/inbound') }
        : { status: 200, body: ACK, headers: { 'content-type': 'text/xml' } }),
  });
  try {
    await sim.admin('POST', '/admin/limits', { service: 'salesforce', webhook_time_scale: 0.0001 });
    await sim.admin('POST', '/admin/webhooks', { service: 'salesforce', url: `${receiver.url}/om` });
    await sim.admin('PATCH', '/admin/salesforce/Contact/003000000000005AAA', { FirstName: 'Acked' });
    const first = await receiver.waitFor((r) => r.body.includes('Acked'));
    const id = notificationIds(first.body)[0];
    await receiver.waitFor((r) => r !== first && r.body.includes(id));  // the bare <Ack> was not accepted
    mode = 'wrong-ns';
    const seen = receiver.received.length;
    await receiver.waitFor((r, i) => receiver.received.indexOf(r) >= seen && r.body.includes(id));
    mode = 'soap';
    const list = await sim.waitForDeliveries('salesforce', (l) => l.some((d) => d.label.includes(id) && d.state === 'delivered'));
    const d = list.find((x) => x.label.includes(id));
    assert.ok(d.attempts >= 3);
    const count = receiver.received.filter((r) => r.body.includes(id)).length;
    assert.equal(count, d.attempts);
    // The envelope names the org's SOAP endpoints in the documented form.
    assert.match(first.body, /<EnterpriseUrl>https:\/\/127\.0\.0\.1:\d+\/services\/Soap\/c\/\d+\.0\/00DSIM000000000<\/EnterpriseUrl>/);
    assert.match(first.body, /<PartnerUrl>https:\/\/127\.0\.0\.1:\d+\/services\/Soap\/u\/\d+\.0\/00DSIM000000000<\/PartnerUrl>/);
    assert.equal(first.headers.soapaction, '""');
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'salesforce', webhook_time_scale: 1 });
    await receiver.close();
  }
});

test('Outbound Messages: redelivered with exponential back-off up to 2 h apart, dropped after 24 h', async () => {
  // sforce_api_om_outboundmessaging_notifications: "If the endpoint is unavailable, messages stay in the queue
  // until sent successfully, or until they're 24 hours old. After 24 hours, messages are dropped from the queue."
  // "If a message can't be delivered, the interval between retries increases exponentially, up to a maximum of
  // two hours between retries." The time scale 1/20,000 makes 24 h last 4.3 s.
  const receiver = await startReceiver({ status: 503 });
  try {
    await sim.admin('POST', '/admin/limits', { service: 'salesforce', webhook_time_scale: 0.00005 });
    await sim.admin('POST', '/admin/webhooks', { service: 'salesforce', url: `${receiver.url}/om-down` });
    await sim.admin('PATCH', '/admin/salesforce/Contact/003000000000006AAA', { FirstName: 'Unreachable' });
    const first = await receiver.waitFor((r) => r.body.includes('Unreachable'));
    const id = notificationIds(first.body)[0];
    const list = await sim.waitForDeliveries('salesforce',
      (l) => l.some((d) => d.label.includes(id) && d.state === 'failed'), 30000);
    const d = list.find((x) => x.label.includes(id));
    const pauses = d.pauses_ms;  // the schedule in Salesforce time, before scaling
    assert.equal(pauses.length, d.attempts - 1);
    for (let i = 1; i < pauses.length; i++) {
      assert.ok(pauses[i] >= pauses[i - 1], 'pauses never shrink');
      assert.ok(pauses[i] <= 2 * 3600 * 1000, 'at most two hours between retries');
    }
    assert.equal(pauses[1], 2 * pauses[0], 'exponential growth');
    assert.equal(pauses[pauses.length - 1], 2 * 3600 * 1000, 'the cap is reached');
    const total = pauses.reduce((a, b) => a + b, 0);
    assert.ok(total <= 24 * 3600 * 1000, 'no attempt after 24 h');
    assert.ok(total + 2 * 3600 * 1000 > 24 * 3600 * 1000, 'retried until the next attempt would pass 24 h');
    const hits = receiver.received.filter((r) => r.body.includes(id));
    assert.equal(hits.length, d.attempts);
    assert.ok(hits.every((r) => notificationIds(r.body)[0] === id), 'the same Notification Id on every attempt');
  } finally {
    await sim.admin('POST', '/admin/limits', { service: 'salesforce', webhook_time_scale: 1 });
    await receiver.close();
  }
});
