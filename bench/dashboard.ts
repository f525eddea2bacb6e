/**
 * Dashboard figures, side by side with the CLI they stand in for. Prints
 * numbers; asserts nothing. Two real bottles, the real dashboard command,
 * Debian's Chromium.
 *
 *   node --import tsx bench/dashboard.ts [runs=10] [--screenshot]
 *
 * - request → line: from the egress proxy's audit stamp of an agent's request
 *   to its row in the page (a MutationObserver in the page), and, for the
 *   same requests, to its line in `bot-bottle logs --follow --json` (anchor).
 * - click → return: from the click on Approve to the agent's `bottle-ask`
 *   returning in the bottle (its own clock), and the same with
 *   `bot-bottle approve ID` typed in a terminal (anchor).
 * - page weight: every byte the browser fetched to show the page.
 *
 * With --screenshot it also writes docs/dashboard.png (two bottles, a pending
 * proposal) and docs/dashboard-phone.png.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { agentSh, CLI, makeHome, ROOT, run, startDetached } from '../test/helpers.js';
import { launchBrowser, startDashboard, startUpstream, superviseBottle, until } from '../test/dashboard-kit.js';

const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 10);
const screenshot = process.argv.includes('--screenshot');
const NAMES = ['allowed.test', 'asked.test', 'denied.test', 'registry.npmjs.test'];

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p90 = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))] ?? NaN;
const fmt = (xs: readonly number[]) => `median ${median(xs).toFixed(0)} ms, p90 ${p90(xs).toFixed(0)} ms (n=${xs.length})`;

const h = makeHome();
const up = await startUpstream(h, NAMES);
h.writeBottle('dash', superviseBottle(up, NAMES));
h.writeAgent('api-refactor', '---\nbottle: dash\n---\n');
h.writeAgent('docs-research', '---\nbottle: dash\n---\n');
process.stderr.write('starting two bottles, the dashboard and Chromium…\n');
const [a, b, dash, browser] = await Promise.all([
  startDetached(h, 'api-refactor', ['--label', 'api refactor', '--color', 'cyan']),
  startDetached(h, 'docs-research', ['--label', 'docs research', '--color', 'magenta']),
  startDashboard(h),
  launchBrowser(),
]);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  let weight = 0;
  const fetched: string[] = [];
  page.on('response', (r) => {
    void r
      .request()
      .sizes()
      .then((s) => {
        weight += s.responseBodySize + s.responseHeadersSize;
        fetched.push(`${new URL(r.url()).pathname} ${s.responseBodySize} B`);
      })
      .catch(() => undefined);
  });
  await page.goto(dash.url);
  await page.evaluate(`location.hash = ${JSON.stringify(a)}`);
  await page.locator(`[data-bottle="${a}"]`).waitFor();
  await page.locator('.conn-live').waitFor();
  await new Promise((r) => setTimeout(r, 500));
  const pageWeight = weight;
  const pageFiles = [...fetched];

  // ---------------------------------------------------------------- request → line
  await page.evaluate(`(() => {
    window.__seen = {};
    new MutationObserver(() => {
      for (const tr of document.querySelectorAll('tr[data-log-row]')) {
        const m = /^\\/lat-(\\d+)$/.exec(tr.querySelector('td.path')?.textContent || '');
        if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = Date.now();
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
  const cliSeen = new Map<string, number>();
  const follower = spawn(process.execPath, [CLI, 'logs', a, '--follow', '--json'], { env: h.env });
  let buf = '';
  follower.stdout.on('data', (d: Buffer) => {
    const now = Date.now();
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      const m = /"path":"\/lat-(\d+)"/.exec(l);
      if (m?.[1] && !cliSeen.has(m[1])) cliSeen.set(m[1], now);
    }
  });
  await new Promise((r) => setTimeout(r, 1500));
  const toPage: number[] = [];
  const toCli: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await agentSh(h, a, `curl -sS -o /dev/null -w '%{http_code}' https://allowed.test:${up.port}/lat-${i}`);
    if (r.stdout !== '200') throw new Error(`request ${i}: ${r.stdout} ${r.stderr}`);
    const seen = await until(`row lat-${i}`, () => page.evaluate<number | undefined>(`window.__seen[${JSON.stringify(String(i))}]`), 15_000, 20).catch(async (e: unknown) => {
      await page.screenshot({ path: '/tmp/dash-debug.png' });
      throw e;
    });
    await until(`logs line lat-${i}`, () => Promise.resolve(cliSeen.get(String(i))), 15_000, 20);
    const log = (await run(['logs', a, '--json'], { env: h.env })).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { path?: string; time: string });
    const stamp = Date.parse(log.find((e) => e.path === `/lat-${i}`)?.time ?? '');
    toPage.push(seen - stamp);
    toCli.push((cliSeen.get(String(i)) ?? NaN) - stamp);
  }
  follower.kill('SIGTERM');

  // ---------------------------------------------------------------- click → return
  const pendingId = (not: ReadonlySet<string>) =>
    until('a pending proposal', async () => {
      const list = JSON.parse((await run(['proposals', '--json'], { env: h.env })).stdout || '[]') as { id: string }[];
      return list.find((p) => !not.has(p.id))?.id;
    });
  const decided = new Set<string>();
  const ask = (path: string, why = 'bench') => agentSh(h, a, `bottle-ask request-egress --host asked.test --port ${up.port} --path ${path} --method GET --why '${why}' >/dev/null; date +%s%3N`);
  const clickToReturn: number[] = [];
  const cliToReturn: number[] = [];
  for (let i = 0; i < Math.max(3, Math.round(runs / 2)); i++) {
    const asking = ask(`/click-${i}`);
    const id = await pendingId(decided);
    decided.add(id);
    await page.locator(`article[data-proposal="${id}"] button`, { hasText: /^Approve$/ }).waitFor();
    const clicked = await page.evaluate<number>(`(() => {
      const b = [...document.querySelectorAll('article[data-proposal="${id}"] button')].find((x) => x.textContent === 'Approve');
      const t = Date.now();
      b.click();
      return t;
    })()`);
    const returned = Number((await asking).stdout.trim().split('\n').pop());
    clickToReturn.push(returned - clicked);

    const asking2 = ask(`/cli-${i}`);
    const id2 = await pendingId(decided);
    decided.add(id2);
    const t0 = Date.now();
    const r = await run(['approve', id2], { env: h.env });
    if (r.code !== 0) throw new Error(r.stderr);
    cliToReturn.push(Number((await asking2).stdout.trim().split('\n').pop()) - t0);
  }

  process.stdout.write(`dashboard figures (${runs} requests; 2 cores, shared engine)\n`);
  process.stdout.write(`  agent request → row on the page:         ${fmt(toPage)}   (from the proxy's audit stamp)\n`);
  process.stdout.write(`  anchor: → line of \`logs --follow --json\`:  ${fmt(toCli)}\n`);
  process.stdout.write(`  click Approve → agent's MCP call returns: ${fmt(clickToReturn)}\n`);
  process.stdout.write(`  anchor: \`bot-bottle approve ID\` → returns: ${fmt(cliToReturn)}   (includes the CLI's start)\n`);
  process.stdout.write(`  page weight: ${(pageWeight / 1024).toFixed(1)} KiB transferred (${pageFiles.join(', ')})\n`);

  if (screenshot) {
    // A lived-in page: some traffic on both bottles, a denial, a pending proposal on each.
    for (const [id, host, path] of [
      [a, 'allowed.test', '/v1/repos/acme/api/pulls?state=open'],
      [a, 'allowed.test', '/v1/repos/acme/api/contents/src/server.ts'],
      [a, 'denied.test', '/collect'],
      [b, 'allowed.test', '/docs/getting-started'],
    ] as const) {
      await agentSh(h, id, `curl -s -o /dev/null https://${host}:${up.port}${path}`);
    }
    const pendingA = ask('/v1/search/issues', 'find open issues that mention the flaky login test');
    const capB = agentSh(h, b, `printf 'RUN apt-get update && apt-get install -y --no-install-recommends pandoc\\n' | bottle-ask request-capability --why 'convert the Markdown docs to HTML to check the links'`);
    const idA = await pendingId(decided);
    decided.add(idA);
    const idB = await pendingId(decided);
    decided.add(idB);
    await page.locator(`article[data-proposal="${idA}"]`).waitFor();
    await page.locator('tr[data-log-row]', { hasText: 'denied.test' }).waitFor();
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(ROOT, 'docs', 'dashboard.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ROOT, 'docs', 'dashboard-phone.png') });
    process.stdout.write('  wrote docs/dashboard.png and docs/dashboard-phone.png\n');
    for (const id of [idA, idB]) await run(['reject', id, '--reason', 'benchmark over'], { env: h.env });
    await Promise.all([pendingA, capB]);
  }
} finally {
  await browser.close();
  await dash.stop();
  up.close();
  await h.cleanup();
}
