/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core)
 * against a real bottle: the page shows the bottle, its egress as the agent
 * makes requests, proposals as the agent raises them over MCP; its Approve
 * and Reject answer the agent's blocked call; it survives the dashboard
 * restarting; its Preserve and Resume ask first. Without the token nothing is
 * served, and bottle text is inert.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { agentSh, makeHome, run, startDetached, type RunResult, type TestHome } from './helpers.js';
import { launchBrowser, rawRequest, startDashboard, startUpstream, superviseBottle, until, type RunningDashboard, type Upstream } from './dashboard-kit.js';

const NAMES = ['allowed.test', 'asked.test', 'denied.test'];

describe('dashboard in a browser', () => {
  let h: TestHome;
  let up: Upstream;
  let id: string;
  let dash: RunningDashboard;
  let browser: Browser;
  let page: Page;
  let token: string;

  before(async () => {
    h = makeHome();
    up = await startUpstream(h, NAMES);
    h.writeBottle('dash', superviseBottle(up, NAMES));
    h.writeAgent('dash', '---\nbottle: dash\n---\n');
    [id, dash, browser] = await Promise.all([startDetached(h, 'dash', ['--label', 'first bottle', '--color', 'cyan']), startDashboard(h), launchBrowser()]);
    token = new URL(dash.url).searchParams.get('token') ?? '';
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await dash?.stop();
    up?.close();
    await h?.cleanup();
  });

  const pendingId = (kind: string, not: readonly string[] = []) =>
    until(`a pending ${kind} proposal`, async () => {
      const list = JSON.parse((await run(['proposals', '--json'], { env: h.env })).stdout || '[]') as { id: string; kind: string }[];
      return list.find((p) => p.kind === kind && !not.includes(p.id))?.id;
    });

  /** Set once after the first load: still there later means the page never reloaded. */
  const markLoaded = () => page.evaluate('window.__loadMark = Math.random()');
  const loadMark = () => page.evaluate<number | undefined>('window.__loadMark');

  it('refuses requests without the token, with a foreign Host, or from a foreign Origin', async () => {
    const host = `127.0.0.1:${dash.port}`;
    assert.equal((await rawRequest(dash.port, '/', { host })).status, 401, 'no token');
    assert.equal((await rawRequest(dash.port, '/api/events', { host })).status, 401, 'no cookie on the API');
    assert.equal((await rawRequest(dash.port, '/?token=not-the-token', { host })).status, 401, 'wrong token');
    assert.equal((await rawRequest(dash.port, '/', { host, cookie: `bb_dashboard_${dash.port}=${token.slice(0, -1)}x` })).status, 401, 'wrong cookie');
    // DNS rebinding: right token, but the browser thinks it talks to another site.
    const rebound = await rawRequest(dash.port, `/?token=${token}`, { host: `evil.example:${dash.port}` });
    assert.equal(rebound.status, 403);
    assert.match(rebound.body, /refused/);
    assert.equal((await rawRequest(dash.port, '/', { host: `localhost.evil.example:${dash.port}`, cookie: `bb_dashboard_${dash.port}=${token}` })).status, 403);
    const cookie = `bb_dashboard_${dash.port}=${token}`;
    assert.equal((await rawRequest(dash.port, '/', { host, cookie })).status, 200, 'the cookie opens the page');
    const crossSite = await rawRequest(dash.port, `/api/bottles/${id}/action`, { host, cookie, origin: 'http://evil.example', 'content-type': 'application/json' }, 'POST', '{"action":"stop"}');
    assert.equal(crossSite.status, 403, 'a foreign Origin cannot act');
    const form = await rawRequest(dash.port, `/api/bottles/${id}/action`, { host, cookie, 'content-type': 'application/x-www-form-urlencoded' }, 'POST', 'action=stop');
    assert.equal(form.status, 415, 'a form post cannot act');
    const login = await rawRequest(dash.port, `/?token=${token}`, { host });
    assert.equal(login.status, 303);
  });

  it('shows the running bottle after opening the printed URL', async () => {
    await page.goto(dash.url);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    const card = page.locator(`[data-bottle="${id}"]`);
    await card.waitFor();
    assert.match(await card.innerText(), /first bottle/);
    // The dashboard started while the bottle launched: its status catches up on the next read.
    await card.locator('.status', { hasText: 'detached' }).waitFor({ timeout: 10_000 });
    const cookies = await page.context().cookies();
    const c = cookies.find((x) => x.name === `bb_dashboard_${dash.port}`);
    assert.equal(c?.sameSite, 'Strict');
    assert.equal(c?.httpOnly, true);
    await page.locator('.conn-live').waitFor();
    await markLoaded();
  });

  it('shows a request the agent makes after the page loaded, without a reload', async () => {
    const mark = await loadMark();
    const path = `/after-load-${Date.now()}`;
    const ok = await agentSh(h, id, `curl -sS -o /dev/null -w '%{http_code}' https://allowed.test:${up.port}${path}`);
    assert.equal(ok.stdout, '200', ok.stderr);
    const denied = await agentSh(h, id, `curl -s -o /dev/null -w '%{http_connect}' https://denied.test:${up.port}/nope`);
    assert.equal(denied.stdout, '403');
    const row = page.locator('tr[data-log-row]', { hasText: path });
    await row.waitFor({ timeout: 15_000 });
    assert.match(await row.innerText(), /allowed\.test/);
    assert.match(await row.innerText(), /200/);
    assert.match(await row.innerText(), /allow/);
    const deniedRow = page.locator('tr[data-log-row]', { hasText: 'denied.test' });
    await deniedRow.waitFor({ timeout: 15_000 });
    assert.match(await deniedRow.innerText(), /deny/);
    assert.equal(await loadMark(), mark, 'no reload happened');
  });

  it('shows a pending proposal; Approve releases the agent\'s MCP call and the route works', async () => {
    const target = `https://asked.test:${up.port}/data`;
    assert.equal((await agentSh(h, id, `curl -s -o /dev/null -w '%{http_connect}' ${target}`)).stdout, '403', 'denied before');
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${up.port} --path /data --method GET --why 'the task needs the dataset'`);
    const pid = await pendingId('egress-route');
    const card = page.locator(`article[data-proposal="${pid}"]`);
    await card.waitFor({ timeout: 15_000 });
    assert.match(await card.innerText(), /the task needs the dataset/);
    assert.match(await card.locator('pre.diff').innerText(), /\+ route asked\.test/);
    await card.getByRole('textbox', { name: 'note or reason' }).fill('fine for this task');
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    const answer = await asking;
    assert.equal(answer.code, 0, answer.stderr);
    assert.match(answer.stdout, /approved/);
    assert.match(answer.stdout, /fine for this task/);
    const body = await until('the approved route to work', async () => {
      const r = await agentSh(h, id, `curl -sS ${target}`);
      return r.stdout.startsWith('hello from') ? r.stdout : undefined;
    }, 10_000, 200);
    assert.match(body, /asked\.test/);
    await card.waitFor({ state: 'detached' });
    await page.locator(`li.decided[data-proposal="${pid}"]`, { hasText: 'approved' }).waitFor();
  });

  it('Reject needs a reason, and the reason reaches the agent', async () => {
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${up.port} --path /other --why 'curious'`);
    const pid = await pendingId('egress-route');
    const card = page.locator(`article[data-proposal="${pid}"]`);
    await card.waitFor({ timeout: 15_000 });
    const reject = card.getByRole('button', { name: 'Reject' });
    assert.equal(await reject.isDisabled(), true, 'no reason, no reject');
    await card.getByRole('textbox', { name: 'note or reason' }).fill('not needed for this task');
    await reject.click();
    const answer: RunResult = await asking;
    assert.equal(answer.code, 1);
    assert.match(answer.stdout + answer.stderr, /rejected/);
    assert.match(answer.stdout + answer.stderr, /not needed for this task/);
    await page.locator(`li.decided[data-proposal="${pid}"]`, { hasText: 'not needed for this task' }).waitFor();
  });

  it('Edit approves the request as the human changed it, and only that', async () => {
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${up.port} --path / --why 'everything, please'`);
    const pid = await pendingId('egress-route');
    const card = page.locator(`article[data-proposal="${pid}"]`);
    await card.waitFor({ timeout: 15_000 });
    await card.getByRole('button', { name: 'Edit' }).click();
    const editor = card.getByRole('textbox', { name: 'edited request' });
    const edited = JSON.parse(await editor.inputValue()) as { paths: string[]; methods: string[] };
    assert.deepEqual(edited.paths, ['/']);
    await editor.fill(JSON.stringify({ ...edited, paths: ['/narrow/'], methods: ['GET'] }, null, 2));
    await card.getByRole('button', { name: 'Approve edited' }).click();
    const answer = await asking;
    assert.equal(answer.code, 0, answer.stderr);
    assert.match(answer.stdout, /approved-with-edits/);
    const body = await until('the edited route to work', async () => {
      const r = await agentSh(h, id, `curl -sS https://asked.test:${up.port}/narrow/x`);
      return r.stdout.startsWith('hello from') ? r.stdout : undefined;
    }, 10_000, 200);
    assert.match(body, /narrow/);
    assert.equal((await agentSh(h, id, `curl -s -o /dev/null -w '%{http_code}' https://asked.test:${up.port}/wide`)).stdout, '403', 'only what the human approved');
  });

  it('a held request needs a reason to approve, and its rejection refuses the request', async () => {
    const key = 'AKIAHELDQZ7X2M4K9P3R';
    const held = agentSh(h, id, `curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -X POST --data-binary 'k=${key}' https://allowed.test:${up.port}/upload`);
    const pid = await pendingId('dlp-hold');
    const card = page.locator(`article[data-proposal="${pid}"]`);
    await card.waitFor({ timeout: 15_000 });
    assert.ok(!(await card.innerText()).includes(key), 'the held secret is not on the page');
    const approve = card.getByRole('button', { name: 'Approve', exact: true });
    assert.equal(await approve.isDisabled(), true, 'a sidecar\'s finding needs a reason to approve');
    await card.getByRole('textbox', { name: 'note or reason' }).fill('no keys to that host');
    assert.equal(await approve.isDisabled(), false);
    await card.getByRole('button', { name: 'Reject' }).click();
    assert.equal((await held).stdout, '403');
  });

  it('shows a capability change as the Dockerfile diff it makes', async () => {
    const asking = agentSh(h, id, `printf 'RUN apt-get install -y jq <script>x</script>\\n' | bottle-ask request-capability --why 'parse JSON'`);
    const pid = await pendingId('capability');
    const card = page.locator(`article[data-proposal="${pid}"]`);
    await card.waitFor({ timeout: 15_000 });
    const diff = await card.locator('pre.diff').innerText();
    assert.match(diff, /^\+RUN apt-get install -y jq <script>x<\/script>$/m, diff);
    assert.match(diff, /Dockerfile \(proposed\)/);
    assert.equal(await card.locator('pre.diff .add', { hasText: 'RUN apt-get install' }).count(), 1, 'added lines are marked');
    await card.getByRole('textbox', { name: 'note or reason' }).fill('not now');
    await card.getByRole('button', { name: 'Reject' }).click();
    assert.equal((await asking).code, 1);
  });

  it('shows decisions made with the CLI', async () => {
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${up.port} --path /cli --why 'decided elsewhere'`);
    const pid = await pendingId('egress-route');
    await page.locator(`article[data-proposal="${pid}"]`).waitFor({ timeout: 15_000 });
    assert.equal((await run(['reject', pid, '--reason', 'answered in the terminal'], { env: h.env })).code, 0);
    await page.locator(`li.decided[data-proposal="${pid}"]`, { hasText: 'answered in the terminal' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator(`article[data-proposal="${pid}"]`).count(), 0);
    assert.equal((await asking).code, 1);
  });

  /** The first event of each type the page's own stream sends for this bottle (read in the page, with its cookie). */
  const apiEvents = (types: readonly string[]) =>
    page.evaluate<Record<string, Record<string, unknown>>>(`new Promise((resolve) => {
      const source = new EventSource('/api/events?bottle=${encodeURIComponent(id)}');
      const got = {};
      for (const t of ${JSON.stringify(types)}) source.addEventListener(t, (m) => {
        got[t] ??= JSON.parse(m.data);
        if (${JSON.stringify(types)}.every((k) => k in got)) { source.close(); resolve(got); }
      });
    })`);

  /** Field names of each record: the event, and each bottle, proposal, job and log entry in it. */
  const fieldNames = (events: Record<string, Record<string, unknown>>): string[] =>
    Object.values(events).flatMap((e) => [
      ...Object.keys(e),
      ...['bottles', 'proposals', 'jobs', 'entries'].flatMap((k) => (Array.isArray(e[k]) ? (e[k] as object[]).flatMap((r) => Object.keys(r)) : [])),
    ]);

  it('speaks snake_case in its API, as every --json does', async () => {
    const events = await apiEvents(['hello', 'bottles', 'proposals', 'log']);
    const bottle = (events.bottles?.bottles as { identity: string; started_at: unknown }[]).find((b) => b.identity === id);
    assert.match(String(bottle?.started_at), /^\d{4}-\d\d-\d\dT/, 'a running bottle has its start time');
    assert.ok((events.proposals?.proposals as unknown[]).length > 0 && (events.log?.entries as unknown[]).length > 0, 'proposals and log entries to check');
    const names = fieldNames(events);
    assert.deepEqual(names.filter((k) => !/^[a-z][a-z0-9_]*$/.test(k)), [], `field names: ${[...new Set(names)].join(', ')}`);
  });

  it('renders <script> and terminal escapes in bottle text as inert, visible text', async () => {
    const mark = await loadMark();
    const why = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> \x1b[2J\x1b]0;owned\x07 \u202eevil`;
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${up.port} --path '/<b>x</b>' --why "$(cat)"`, why);
    const pid = await pendingId('egress-route');
    const card = page.locator(`article[data-proposal="${pid}"]`);
    await card.waitFor({ timeout: 15_000 });
    const text = await card.locator('.why').innerText();
    assert.ok(text.includes('<script>window.__pwned=1</script>'), `markup shown as text: ${text}`);
    assert.ok(text.includes('\\x1b[2J'), `ESC shown escaped: ${text}`);
    assert.ok(text.includes('\\x07'), `BEL shown escaped: ${text}`);
    assert.ok(text.includes('\\u202e'), `bidi override shown escaped: ${text}`);
    assert.ok(!['\x1b', '\x07', '\u202e'].some((c) => text.includes(c)), 'no raw control or bidi character reaches the page');
    assert.ok((await card.locator('pre.diff').innerText()).includes('/<b>x</b>'));
    assert.equal(await page.evaluate('window.__pwned'), undefined, 'nothing ran');
    assert.equal(await card.locator('script, img, b').count(), 0, 'no element came from bottle text');
    assert.equal(await loadMark(), mark);
    await card.getByRole('textbox', { name: 'note or reason' }).fill('no');
    await card.getByRole('button', { name: 'Reject' }).click();
    assert.equal((await asking).code, 1);
  });

  it('carries on without a reload when the dashboard restarts', async () => {
    const mark = await loadMark();
    await dash.stop();
    await page.locator('.conn-reconnecting').waitFor({ timeout: 10_000 });
    dash = await startDashboard(h, `127.0.0.1:${dash.port}`);
    await page.locator('.conn-live').waitFor({ timeout: 15_000 });
    const path = `/after-restart-${Date.now()}`;
    assert.equal((await agentSh(h, id, `curl -sS -o /dev/null -w '%{http_code}' https://allowed.test:${up.port}${path}`)).stdout, '200');
    await page.locator('tr[data-log-row]', { hasText: path }).waitFor({ timeout: 15_000 });
    const asking = agentSh(h, id, `bottle-ask request-egress --host asked.test --port ${up.port} --path /restart --why 'after the restart'`);
    const pid = await pendingId('egress-route');
    const card = page.locator(`article[data-proposal="${pid}"]`);
    await card.waitFor({ timeout: 15_000 });
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    assert.equal((await asking).code, 0);
    assert.equal(await loadMark(), mark, 'no reload happened');
  });

  it('is usable at a phone\'s width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    assert.ok(await page.getByRole('button', { name: 'Preserve' }).isVisible());
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('preserves and resumes the bottle from the page, each after a confirmation', async () => {
    const status = page.locator('section.head .status');
    await page.getByRole('button', { name: 'Preserve' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /workspace/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await status.innerText(), 'detached', 'cancel changes nothing');
    assert.equal((await agentSh(h, id, 'echo kept > /workspace/keep.txt')).code, 0);

    await page.getByRole('button', { name: 'Preserve' }).click();
    await dialog.getByRole('button', { name: 'Preserve' }).click();
    await page.locator('section.head .status', { hasText: 'preserved' }).waitFor({ timeout: 120_000 });

    await page.getByRole('button', { name: 'Resume' }).click();
    await dialog.getByRole('button', { name: 'Resume' }).click();
    await page.locator('section.head .status', { hasText: 'detached' }).waitFor({ timeout: 300_000 });
    assert.equal((await agentSh(h, id, 'cat /workspace/keep.txt')).stdout.trim(), 'kept');
    assert.match(dash.stderr(), new RegExp(`resume ${id} from the page`));
  });

  it('stops the bottle from the page after a confirmation, and keeps showing its record from the archive', async () => {
    await page.getByRole('button', { name: 'Stop' }).click();
    const dialog = page.getByRole('dialog');
    assert.match(await dialog.innerText(), /workspace/);
    await dialog.getByRole('button', { name: 'Stop and remove' }).click();
    await until('the bottle to be gone from the engine', async () => ((await run(['list', '--json'], { env: h.env })).stdout.includes(id) ? undefined : true), 120_000, 500);
    await page.locator(`[data-bottle="${id}"] .status`, { hasText: 'archived' }).waitFor({ timeout: 15_000 });
    // The record outlives the bottle: its egress and its decisions are still on the page.
    await page.locator('tr[data-log-row]', { hasText: '/after-load-' }).first().waitFor({ timeout: 15_000 });
    await page.locator('li.decided', { hasText: 'fine for this task' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByRole('button', { name: 'Resume' }).isDisabled(), true);
    const record = await apiEvents(['record']);
    assert.ok((record.record?.proposals as unknown[]).length > 0, 'the archived proposals');
    assert.deepEqual(fieldNames(record).filter((k) => !/^[a-z][a-z0-9_]*$/.test(k)), []);
  });
});
