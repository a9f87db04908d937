// Drives the web console in headless Chromium (Debian's /usr/bin/chromium through playwright-core) and checks
// what a person sees against omnisyncctl. Started by run_console_test.py, which passes the daemon's console URL,
// its tokens and the omnisyncctl command line in the environment. One browser for every page.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import assert from 'node:assert/strict';

const require = createRequire(process.env.NODE_PATH + '/');
const { chromium } = require('playwright-core');

const url = process.env.CONSOLE_URL;
const readToken = process.env.READ_TOKEN;
const writeToken = process.env.WRITE_TOKEN;
const secrets = [readToken, writeToken, ...JSON.parse(process.env.SECRETS)];
const [ctlPath, ...ctlArgs] = JSON.parse(process.env.CTL);
const shots = process.env.SCREENSHOTS;
mkdirSync(shots, { recursive: true });

const ctl = (...args) => {
  const out = execFileSync(ctlPath, [...ctlArgs, ...args], { encoding: 'utf8' }).trim().split('\n');
  return JSON.parse(out[out.length - 1]);
};

// A fresh profile folder each run (playwright passes it to Chromium as --user-data-dir).
const context = await chromium.launchPersistentContext(process.env.PROFILE_DIR || mkdtempSync('/tmp/console-chromium-'), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
const responses = [];
let failed = false;
const check = (what, fn) => {
  try {
    fn();
    console.log(`ok   ${what}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${what}: ${e.message}`);
  }
};

try {
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());
  page.on('response', async (r) => {
    try { responses.push({ url: r.url(), body: await r.text() }); } catch { /* redirects have no body */ }
  });

  // Unauthenticated: a page sends to the sign-in form; the API answers 401.
  await page.goto(url + '/');
  check('a page without a session shows the sign-in form', () => assert.match(page.url(), /\/login$/));
  const noToken = await page.request.get(url + '/api/v1/status');
  check('API without a token: 401', () => assert.equal(noToken.status(), 401));
  const readApi = await page.request.post(url + '/api/v1/dlq', {
    headers: { Authorization: `Bearer ${readToken}`, 'Content-Type': 'application/json' },
    data: { action: 'drop', all: true } });
  check('API write with the read token: 403', () => assert.equal(readApi.status(), 403));
  const badArg = await page.request.get(url + '/api/v1/runs?limit=many', { headers: { Authorization: `Bearer ${readToken}` } });
  const badText = await badArg.text();
  check('API bad argument: 400 naming it', () => {
    assert.equal(badArg.status(), 400);
    assert.match(JSON.parse(badText).error.message, /"limit" must be an integer/);
  });

  // Read token: the overview's numbers are omnisyncctl status's.
  await page.fill('#token', readToken);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });
  const status = ctl('status');
  const rows = await page.$$eval('#connectors tbody tr', (trs) => trs.map((tr) => ({
    name: tr.dataset.connector, cells: [...tr.querySelectorAll('th,td')].map((c) => c.textContent.trim()) })));
  check('overview lists every connector', () =>
    assert.deepEqual(rows.map((r) => r.name).sort(), Object.keys(status.connectors).sort()));
  for (const r of rows) {
    const c = status.connectors[r.name];
    check(`overview ${r.name}: kind, health, records, queues equal status`, () => {
      assert.equal(r.cells[1], c.kind);
      assert.ok(r.cells[3].startsWith(c.health.state), `${r.cells[3]} vs ${c.health.state}`);
      assert.equal(r.cells[5], String(c.records));
      assert.equal(r.cells[6], String(c.inbox_depth));
      assert.equal(r.cells[7], String(c.outbox_depth));
    });
  }
  const total = Number(await page.textContent('#dead-letters-total'));
  check('overview dead letters equal status', () => assert.equal(total, status.store.dead_letters));

  await page.goto(url + '/runs');
  await page.screenshot({ path: `${shots}/runs.png`, fullPage: true });
  const pageIds = await page.$$eval('#runs tbody tr td:first-child', (tds) => tds.map((td) => Number(td.textContent)));
  // Runs may begin between the page and the command: compare the runs up to the page's newest.
  const runIds = ctl('runs').items.map((r) => r.id).filter((id) => id <= pageIds[0]);
  check('runs page shows the run history as omnisyncctl runs', () => {
    assert.ok(pageIds.length > 0 && !Number.isNaN(pageIds[0]), 'no runs shown');
    assert.deepEqual(pageIds.slice(0, runIds.length), runIds.slice(0, pageIds.length));
  });

  await page.goto(url + '/dead-letters');
  await page.screenshot({ path: `${shots}/dead-letters.png`, fullPage: true });
  const readButtons = await page.$$('button:has-text("Drop all")');
  check('dead letters: no drop button for the read scope', () => assert.equal(readButtons.length, 0));
  const groups = await page.$$eval('#dlq-groups tbody tr', (trs) => trs.length);
  const stats = ctl('dlq', 'stats');
  check('dead letters grouped by reason as dlq stats', () => assert.equal(groups, stats.groups.length));

  // People: search one person by e-mail, open the 360 view.
  // profile list --json writes one JSON line per profile (an export), the next-page hint on stderr.
  const listed = execFileSync(ctlPath, [...ctlArgs, 'profile', 'list', '--limit', '5'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim().split('\n').map((l) => JSON.parse(l));
  const person = listed.find((p) => p.email) || listed[0];
  await page.goto(url + '/people');
  await page.fill('#q', person.email || person._profile_id);
  await Promise.all([page.waitForNavigation(), page.click('form[role=search] button')]);
  const hits = await page.$$eval('#people-results tbody a', (as) => as.map((a) => a.textContent));
  check('people search finds the person', () => assert.ok(hits.includes(person._profile_id), hits.join(',')));
  await Promise.all([page.waitForNavigation(), page.click(`#people-results a:has-text("${person._profile_id}")`)]);
  await page.screenshot({ path: `${shots}/person.png`, fullPage: true });
  const golden = await page.$$eval('#golden tbody tr', (trs) => trs.length);
  const linked = await page.$$eval('#linked tbody tr', (trs) => trs.length);
  const view = ctl('profile', 'get', person._profile_id);
  check('the 360 view shows golden values and linked records', () => {
    assert.equal(golden, Object.keys(view.golden).length);
    assert.equal(linked, view.records.length);
  });

  // The overview's API budget: every limit each vendor stated (status api.limits), in its words. The daemon keeps
  // each limit by name once a vendor stated it, so the set only grows while polls go on: the page's limits are
  // at least those status had before it and at most those status has after it.
  const limitsOf = (st) => Object.entries(st.connectors).flatMap(([n, c]) =>
    (c.api.limits || []).map((l) => `${n}/${l.name}`)).sort();
  const limitsBefore = limitsOf(ctl('status'));
  await page.goto(url + '/');
  const limitRows = await page.$$eval('#api-limits tbody tr[data-connector]', (trs) => trs.map((tr) => ({
    connector: tr.dataset.connector, limit: tr.dataset.limit,
    words: tr.querySelector('code').textContent })));
  const limitsAfter = limitsOf(ctl('status'));
  check('overview API budget lists the limits status has, per connector', () => {
    const shown = limitRows.map((r) => `${r.connector}/${r.limit}`);
    for (const l of limitsBefore) assert.ok(shown.includes(l), `${l} missing from the page`);
    for (const l of shown) assert.ok(limitsAfter.includes(l), `${l} on the page but not in status`);
    assert.ok(limitRows.some((r) => r.words.startsWith('Sforce-Limit-Info: api-usage=')), 'no Salesforce budget');
    assert.ok(limitRows.some((r) => r.words.startsWith('X-HubSpot-RateLimit-Daily')), 'no HubSpot daily limit');
    assert.ok(limitRows.some((r) => r.words.startsWith('X-Rate-Limit:')), 'no Zendesk limit');
  });

  // Record inspector: a record that caused writes shows them, request and response, the credentials redacted.
  // Prefer a write the vendor took; a refused one (HubSpot's missing property) shows the same exchange.
  const auditItems = ctl('audit', '--limit', '2000').items.filter((e) => (e.source || '').split(':').length >= 3);
  const audited = auditItems.find((e) => e.outcome === 'written') || auditItems[0];
  check('the audit log holds a change to inspect', () => assert.ok(audited, 'no audit entry with a source record'));
  if (audited) {
    const [sys, obj, ...rest] = audited.source.split(':');
    const rid = rest.join(':');
    await page.goto(url + '/runs');
    await Promise.all([page.waitForNavigation(), page.click('#inspect-link')]);
    await page.fill('#rc', sys);
    await page.fill('#ro', obj);
    await page.fill('#ri', rid);
    await Promise.all([page.waitForNavigation(), page.click('form.record-form button')]);
    await page.screenshot({ path: `${shots}/record.png`, fullPage: true });
    const shownRec = ctl('record', 'show', sys, obj, rid);
    const payloadText = await page.textContent('#payload');
    const requests = await page.$$eval('pre.request', (ps) => ps.map((p) => p.textContent));
    const responsesShown = await page.$$eval('pre.response', (ps) => ps.length);
    check('record inspector: the stored payload, the writes of omnisyncctl record show, redacted', () => {
      assert.deepEqual(JSON.parse(payloadText), shownRec.payload);
      assert.equal(requests.length, shownRec.writes.length);
      assert.ok(requests.length > 0, 'no writes shown');
      assert.equal(responsesShown, requests.length);
      for (const r of requests) assert.match(r, /"Authorization": "<redacted>"/);
    });
    const mappedRows = await page.$$eval('#mapped tbody tr', (trs) => trs.length);
    check('record inspector: mapped values and provenance shown', () => {
      assert.ok(mappedRows > 0, 'no mapped values');
      assert.ok(shownRec.provenance.some((p) => p.supplied), 'the record supplies no golden value');
    });
    const supplied = await page.$$eval('#provenance tr.supplied', (trs) => trs.length);
    check('record inspector: golden values it supplies are marked', () =>
      assert.equal(supplied, shownRec.provenance.filter((p) => p.supplied).length));
  }

  // Analytics: the page and its charts (each with its numbers); the funnel's counts are omnisyncctl report's.
  await page.goto(url + '/analytics');
  await page.screenshot({ path: `${shots}/analytics.png`, fullPage: true });
  const sections = await page.$$eval('section.report', (ss) => ss.map((s) => s.id));
  check('analytics page lists the reports', () =>
    assert.deepEqual(sections, ['funnel', 'retention', 'satisfaction', 'value', 'segment_size']));
  const charts = await page.$$eval('figure.chart svg', (svgs) => svgs.map((s) => {
    const b = s.getBoundingClientRect();
    return [b.width, b.height];
  }));
  check('every chart drawn has a size', () => { for (const [w, h] of charts) assert.ok(w > 0 && h > 0); });
  let hasReport = true;
  try { execFileSync(ctlPath, [...ctlArgs, 'report', '--help'], { stdio: 'ignore' }); } catch { hasReport = false; }
  if (hasReport) {
    const funnel = ctl('report', 'funnel');
    const stages = funnel.tables.stages;
    const funnelTable = await page.$$eval('#funnel-stages-table tbody tr', (trs) => trs.map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())));
    check('the funnel table equals omnisyncctl report funnel', () => {
      assert.equal(funnelTable.length, stages.rows.length);
      const col = (name) => stages.columns.indexOf(name);
      for (let i = 0; i < stages.rows.length; ++i) {
        assert.equal(funnelTable[i][col('stage')], String(stages.rows[i][col('stage')]));
        for (const name of ['entered_any_order', 'reached_in_order'])
          assert.equal(Number(funnelTable[i][col(name)].replace(/[^0-9.-]/g, '')), Number(stages.rows[i][col(name)]));
      }
    });
    check('the funnel counts someone', () =>
      assert.ok(stages.rows.some((r) => Number(r[stages.columns.indexOf('entered_any_order')]) > 0)));
  } else {
    const note = await page.textContent('#analytics-note');
    check('without a report command the page says so', () => assert.match(note, /history/));
  }

  // People, explain, read scope: no Split button, and a forged split is refused (403).
  const multi = listed.find((p) => ctl('profile', 'get', p._profile_id).records.length > 1) || person;
  await page.goto(url + `/people?id=${encodeURIComponent(multi._profile_id)}&explain=true`);
  await page.screenshot({ path: `${shots}/explain.png`, fullPage: true });
  const readSplit = await page.$$('button:has-text("Split")');
  check('explain: no Split button for the read scope', () => assert.equal(readSplit.length, 0));
  const links = await page.$$eval('#links tbody tr', (trs) => trs.length);
  const explained = ctl('profile', 'explain', multi._profile_id);
  check('explain lists the links of omnisyncctl profile explain', () =>
    assert.equal(links, Math.max(1, explained.edges.length)));
  const readCsrf = await page.getAttribute('input[name=csrf]', 'value');
  const forged = await page.request.post(url + '/actions', { form: {
    csrf: readCsrf, command: 'profile', action: 'split', query: multi._profile_id,
    record: 'x:y:z', attribute: 'email', value: 'a@example.com', back: '/people' }, maxRedirects: 0 });
  check('a read-only session cannot split: 403', () => assert.equal(forged.status(), 403));

  // Write token: drain the dead letters from the page.
  await page.goto(url + '/');
  await Promise.all([page.waitForNavigation(), page.click('header button:has-text("Sign out")')]);
  await page.fill('#token', writeToken);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  await page.goto(url + '/dead-letters');
  await Promise.all([page.waitForNavigation(), page.click('button:has-text("Drop all")')]);
  await page.screenshot({ path: `${shots}/dead-letters-drained.png`, fullPage: true });
  const notice = await page.textContent('.notice');
  check('the drop is reported on the page', () => assert.match(notice, /dlq: done/));
  const after = ctl('dlq', 'stats');
  check('no open dead letters left (omnisyncctl dlq stats)', () => assert.equal(after.total, 0));
  const shown = Number(await page.textContent('#dead-letters-total'));
  check('dead letters page total is 0', () => assert.equal(shown, 0));
  // The audit log names the console as the caller of what it did, and holds nothing for what it refused.
  const commandsAudited = () => ctl('audit', '--field', 'command', '--limit', '500').items.map((e) => ({
    ...e, after: typeof e.after === 'string' ? JSON.parse(e.after) : e.after }));
  const audited0 = commandsAudited();
  const dropAudit = audited0.find((e) => e.after.command === 'dlq' && e.after.args.action === 'drop');
  check('the drop is in the audit log with the console as its caller', () => {
    assert.ok(dropAudit, JSON.stringify(audited0.slice(0, 5)));
    assert.equal(dropAudit.source, 'control:console');
    assert.equal(dropAudit.outcome, 'done');
  });
  check('the refused split (read-only session) left no audit entry', () => assert.ok(
    !audited0.some((e) => e.after.command === 'profile' && e.after.args.action === 'split'),
    JSON.stringify(audited0.filter((e) => e.after.command === 'profile'))));

  // Write scope: split a link of the profile from the explain view, then restore it.
  if (explained.edges.length > 0) {
    await page.goto(url + `/people?id=${encodeURIComponent(multi._profile_id)}&explain=true`);
    const edge = explained.edges[0];
    await Promise.all([page.waitForNavigation(), page.click('#links button:has-text("Split")')]);
    await page.screenshot({ path: `${shots}/split.png`, fullPage: true });
    const splitNotice = await page.textContent('.notice');
    check('split is reported on the page', () => assert.match(splitNotice, /profile: done/));
    const rec = `${edge.from.system}:${edge.from.object}:${edge.from.id}`;
    const afterSplit = ctl('profile', 'explain', rec);
    check('the split link is listed as split (omnisyncctl profile explain)', () =>
      assert.ok(afterSplit.ignored.some((g) => g.reason === 'split'), JSON.stringify(afterSplit.ignored)));
    // A split separates the two records: every identifier that linked them is set aside (the one clicked and, when
    // another still linked them, that one too), each listed with its own Restore button. Restore them one by one.
    const splitCount = afterSplit.ignored.filter((g) => g.reason === 'split').length;
    await page.goto(url + `/people?id=${encodeURIComponent(afterSplit.id)}&explain=true`);
    await Promise.all([page.waitForNavigation(), page.click('#ignored button:has-text("Restore")')]);
    const restoreNotice = await page.textContent('.notice');
    check('restore is reported on the page', () => assert.match(restoreNotice, /profile: done/));
    const oneRestored = ctl('profile', 'explain', rec);
    check('each restore gives back one split identifier', () => assert.equal(
      oneRestored.ignored.filter((g) => g.reason === 'split').length, splitCount - 1, JSON.stringify(oneRestored.ignored)));
    for (let i = 1; i < splitCount; ++i) {
      await page.goto(url + `/people?id=${encodeURIComponent(ctl('profile', 'explain', rec).id)}&explain=true`);
      await Promise.all([page.waitForNavigation(), page.click('#ignored button:has-text("Restore")')]);
    }
    const restored = ctl('profile', 'explain', rec);
    check('after restoring each, nothing is split', () => assert.ok(!restored.ignored.some((g) => g.reason === 'split'),
      JSON.stringify({ ignoredAfterSplit: afterSplit.ignored, restored: restored.ignored, edge })));
    const profileAudits = commandsAudited().filter((e) => e.after.command === 'profile');
    check('the split and each restore are audited, by the console, naming the profile', () => {
      const splits = profileAudits.filter((e) => e.after.args.action === 'split');
      const restores = profileAudits.filter((e) => e.after.args.action === 'restore');
      assert.equal(splits.length, 1, JSON.stringify(profileAudits));
      assert.equal(restores.length, splitCount, JSON.stringify(profileAudits));
      for (const e of [...splits, ...restores]) {
        assert.equal(e.source, 'control:console');
        assert.equal(e.outcome, 'done');
      }
      assert.equal(splits[0].profile, multi._profile_id);
    });
  }

  check('no console errors', () => assert.deepEqual(problems, []));
  check('no response holds a token or vendor secret', () => {
    for (const r of responses) for (const s of secrets) assert.ok(!r.body.includes(s), `${r.url} holds a secret`);
  });
} catch (e) {
  failed = true;
  console.log(`FAIL ${e.stack}`);
} finally {
  await context.close();
}
process.exit(failed ? 1 : 0);
