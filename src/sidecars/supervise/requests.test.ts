import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { EgressRoute } from '../../manifest/types.js';
import { unifiedDiff } from './diff.js';
import { applyEgressRoute, mergeRoute } from './egress-apply.js';
import { prepare } from './prepare.js';
import { RequestError, capabilityRequest, egressRoute, egressSummary, parseEgressRequest } from './requests.js';
import type { SidecarPrepareInput } from '../../bottle/sidecar.js';
import { writeStateFiles } from '../../bottle/state.js';

const root = mkdtempSync(join(tmpdir(), 'bb-requests-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('egress requests', () => {
  it('normalises host, port, paths and methods', () => {
    assert.deepEqual(parseEgressRequest({ host: 'API.GitHub.com', paths: ['/repos/'], methods: ['get', 'GET', 'post'] }), {
      host: 'api.github.com',
      port: 443,
      paths: ['/repos/'],
      methods: ['GET', 'POST'],
    });
    assert.equal(parseEgressRequest({ host: 'example.com:8443' }).port, 8443);
    assert.equal(parseEgressRequest({ host: 'example.com', port: 80 }).port, 80);
  });

  it('refuses schemes, paths in the host, IPs, wildcards, relative paths and unknown keys', () => {
    for (const bad of [
      { host: 'https://example.com' },
      { host: 'example.com/x' },
      { host: '10.0.0.1' },
      { host: '*.example.com' },
      { host: 'example.com', paths: ['v1'] },
      { host: 'example.com', port: 70000 },
      { host: 'example.com', token: 'x' },
      { host: '' },
      'example.com',
    ]) {
      assert.throws(() => parseEgressRequest(bad), RequestError, JSON.stringify(bad));
    }
  });

  it('becomes a route without auth, DLP on, matching only what was asked', () => {
    const r = egressRoute(parseEgressRequest({ host: 'example.com', paths: ['/a/'], methods: ['GET'] }));
    assert.equal(r.auth, undefined);
    assert.equal(r.dlp?.outbound, true);
    assert.deepEqual(r.matches, [{ paths: [{ type: 'prefix', value: '/a/' }], methods: ['GET'], headers: [] }]);
    assert.deepEqual(egressRoute(parseEgressRequest({ host: 'example.com' })).matches, []);
    assert.equal(egressSummary(parseEgressRequest({ host: 'example.com', port: 8443 })), 'egress to example.com:8443 (any method; every path)');
  });
});

describe('capability requests', () => {
  it('appends lines to the current Dockerfile, or replaces it when the change has a FROM', () => {
    const base = 'FROM debian:bookworm-slim\nUSER agent\n';
    const a = capabilityRequest(base, 'USER root\nRUN apt-get install -y jq\n');
    assert.equal(a.mode, 'append');
    assert.equal(a.dockerfile, 'FROM debian:bookworm-slim\nUSER agent\n\nUSER root\nRUN apt-get install -y jq\n');
    const r = capabilityRequest(base, 'FROM alpine:3\nRUN apk add jq');
    assert.equal(r.mode, 'replace');
    assert.equal(r.dockerfile, 'FROM alpine:3\nRUN apk add jq\n');
    assert.throws(() => capabilityRequest('', 'RUN apt-get install jq'), /whole Dockerfile/);
    assert.throws(() => capabilityRequest(base, '  \n'), /empty/);
  });

  it('shows as a unified diff', () => {
    const d = unifiedDiff('FROM x\nUSER agent\n', 'FROM x\nUSER agent\n\nUSER root\nRUN apt-get install -y jq\n');
    assert.equal(d, '--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,2 +1,5 @@\n FROM x\n USER agent\n+\n+USER root\n+RUN apt-get install -y jq\n');
    assert.equal(unifiedDiff('a\n', 'a\n'), '');
    const long = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    const changed = long.map((l, i) => (i === 2 || i === 17 ? `${l} changed` : l));
    const hunks = unifiedDiff(long.join('\n'), changed.join('\n')).split('\n').filter((l) => l.startsWith('@@'));
    assert.deepEqual(hunks, ['@@ -1,6 +1,6 @@', '@@ -15,6 +15,6 @@']);
  });
});

describe('installing an approved route', () => {
  const route = (host: string, matches: EgressRoute['matches'] = [], extra: Partial<EgressRoute> = {}): EgressRoute => ({ host, port: 443, matches, auth: undefined, dlp: undefined, ...extra });
  const m = (path: string, methods: string[] = []) => ({ paths: [{ type: 'prefix' as const, value: path }], methods, headers: [] });

  it('merges paths into the route in force for the same host:port, keeping its auth', () => {
    const auth = { scheme: 'Bearer', token_ref: 'GH', header: 'Authorization' };
    const merged = mergeRoute(route('api.github.com', [m('/repos/')], { auth }), route('api.github.com', [m('/gists/', ['GET'])]));
    assert.deepEqual(merged?.matches, [m('/repos/'), m('/gists/', ['GET'])]);
    assert.deepEqual(merged?.auth, auth);
    assert.equal(mergeRoute(route('a.com'), route('a.com', [m('/x')])), undefined, 'everything is already allowed');
    assert.equal(mergeRoute(route('a.com', [m('/x')]), route('a.com', [m('/x')])), undefined, 'nothing new');
    assert.deepEqual(mergeRoute(route('a.com', [m('/x')]), route('a.com'))?.matches, []);
    assert.deepEqual(mergeRoute(undefined, route('a.com', [m('/x')]))?.matches, [m('/x')]);
  });

  it('records the route per proposal and lays it beside the config route in the proxy\'s live policy file', async () => {
    const dir = join(root, 'egress');
    const configFile = join(root, 'egress-config.json');
    const policyFile = join(dir, 'policy.json');
    writeFileSync(
      configFile,
      JSON.stringify({ identity: 'x', listen: { host: '0.0.0.0', port: 3128 }, caDir: '/tmp/ca', routes: [{ host: 'api.github.com', matches: [{ paths: [{ value: '/repos/' }] }], auth: { token_ref: 'GH' } }] }),
    );
    const targets = { routesDir: join(dir, 'routes.d'), configFile, policyFile };
    const add = egressRoute(parseEgressRequest({ host: 'api.github.com', paths: ['/gists/'], methods: ['GET'] }));
    const r = await applyEgressRoute(targets, 'egress-aaaaaaaa', add);
    assert.equal(r.live, 'merged');
    assert.deepEqual(JSON.parse(readFileSync(r.recorded, 'utf8')), JSON.parse(JSON.stringify(add)));
    const policy = () => (JSON.parse(readFileSync(policyFile, 'utf8')) as { routes: EgressRoute[] }).routes;
    assert.equal(policy().length, 1);
    assert.deepEqual(
      policy()[0]?.matches.map((x) => x.paths[0]?.value),
      ['/gists/'],
      'only what was approved: the config route stays the config\'s',
    );
    assert.equal(policy()[0]?.auth, undefined, 'an approval never carries the token');
    const again = await applyEgressRoute(targets, 'egress-aaaaaaaa', add);
    assert.equal(again.live, 'already-covered');
    const repos = await applyEgressRoute(targets, 'egress-cccccccc', egressRoute(parseEgressRequest({ host: 'api.github.com', paths: ['/repos/'] })));
    assert.equal(repos.live, 'already-covered', 'the config route already allows it');
    const more = await applyEgressRoute(targets, 'egress-dddddddd', egressRoute(parseEgressRequest({ host: 'api.github.com', paths: ['/user'] })));
    assert.equal(more.live, 'merged');
    assert.deepEqual(
      policy()[0]?.matches.map((x) => x.paths[0]?.value),
      ['/gists/', '/user'],
    );
    const other = await applyEgressRoute(targets, 'egress-bbbbbbbb', egressRoute(parseEgressRequest({ host: 'pypi.org' })));
    assert.equal(other.live, 'merged');
    assert.deepEqual(
      policy().map((x) => x.host),
      ['api.github.com', 'pypi.org'],
    );
  });
});

describe('supervise prepare', () => {
  const input = (supervise: boolean): SidecarPrepareInput => ({
    identity: 'dev-abc123',
    bottle: { supervise } as SidecarPrepareInput['bottle'],
    agent: {} as SidecarPrepareInput['agent'],
    hostEnv: { SECRET: 'x' },
    knownSecrets: [],
    agentDockerfile: 'FROM debian:bookworm-slim\n',
  });

  it('runs the MCP server and tells the agent where it is, only when the bottle asks for it', async () => {
    const on = await prepare(input(true));
    assert.equal(on.services.length, 1);
    const s = on.services[0];
    assert.deepEqual(s?.command, ['node', '--max-semi-space-size=1', '--heap-growing-percent=50', '/opt/bot-bottle/supervise.js']);
    assert.equal(s?.restart, 'always');
    assert.deepEqual(s?.readyProbe, { tcpPort: 8765 });
    assert.equal(s?.env?.BOT_BOTTLE_SUPERVISE_DIR, '/run/bot-bottle/supervise');
    assert.deepEqual(on.agentEnv, { BOT_BOTTLE_MCP_URL: 'http://bundle:8765/mcp' });
    assert.deepEqual(on.bundleSecrets, {});
    assert.deepEqual(on.stateDirs, ['queue'], 'the queue folder exists before the bundle starts');
    assert.deepEqual(on.stateFiles, [{ path: 'Dockerfile.current', content: 'FROM debian:bookworm-slim\n', mode: 0o644 }], 'the base of capability proposals');
    const hostDir = join(root, 'prep-true');
    await writeStateFiles(hostDir, on);
    assert.ok(existsSync(join(hostDir, 'queue')));
    const off = await prepare(input(false));
    assert.deepEqual([off.services, off.agentEnv, off.stateDirs, off.stateFiles], [[], {}, [], []]);
  });
});
