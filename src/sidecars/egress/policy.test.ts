import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EgressRoute } from '../../manifest/types.js';
import { compileRoutes, decide, decideConnect, suggestRoute, type RequestInfo } from './policy.js';

const DLP = { outbound: true, inbound: false, inbound_on_match: 'warn', on_match: 'block', entropy: false, entropy_action: 'warn', rules: ['credentials'] } as const;

function route(host: string, matches: EgressRoute['matches'] = [], port = 443): EgressRoute {
  return { host, port, matches, auth: undefined, dlp: DLP };
}

const table = compileRoutes([
  route('open.example.com'),
  route('api.example.com', [
    { paths: [{ type: 'prefix', value: '/v1/repos' }], methods: ['GET'], headers: [] },
    { paths: [{ type: 'exact', value: '/v1/graphql' }], methods: ['POST'], headers: [] },
    { paths: [{ type: 'regex', value: '/v2/items/[0-9]+' }], methods: [], headers: [] },
    { paths: [], methods: ['PUT'], headers: [{ name: 'X-Tenant', type: 'exact', value: 'acme' }] },
    { paths: [{ type: 'prefix', value: '/hooks/' }], methods: [], headers: [{ name: 'content-type', type: 'regex', value: 'application/(json|xml)' }] },
  ]),
  route('internal.test', [], 8443),
]);

function req(over: Partial<RequestInfo>): RequestInfo {
  return { method: 'GET', host: 'api.example.com', port: 443, path: '/', headers: {}, ...over };
}

void test('a route with no matches allows everything on its host and port', () => {
  const d = decide(table, req({ host: 'open.example.com', method: 'DELETE', path: '/anything?x=1' }));
  assert.equal(d.allow, true);
});

void test('hosts match exactly and case-insensitively; others are no-route', () => {
  assert.equal(decide(table, req({ host: 'OPEN.example.com' })).allow, true);
  for (const host of ['example.com', 'x.open.example.com', 'open.example.com.evil.test']) {
    const d = decide(table, req({ host }));
    assert.equal(d.allow, false);
    if (!d.allow) assert.equal(d.reason, 'no-route');
  }
});

void test('ports: 443 by default, other ports only when routed', () => {
  assert.equal(decide(table, req({ host: 'internal.test', port: 8443 })).allow, true);
  const d = decide(table, req({ host: 'internal.test', port: 443 }));
  assert.equal(d.allow, false);
  if (!d.allow) assert.equal(d.reason, 'unrouted-port');
  const c = decideConnect(table, 'open.example.com', 8080);
  assert.equal(c.allow, false);
  if (!c.allow) assert.equal(c.reason, 'unrouted-port');
  assert.equal(decideConnect(table, 'open.example.com', 443).allow, true);
  const none = decideConnect(table, 'nowhere.test', 443);
  assert.equal(none.allow, false);
  if (!none.allow) {
    assert.equal(none.reason, 'no-route');
    assert.match(none.suggestion, /- host: "nowhere\.test"/);
  }
});

void test('prefix matches whole path elements, without the query', () => {
  for (const path of ['/v1/repos', '/v1/repos/', '/v1/repos/a/b', '/v1/repos?page=2']) {
    assert.equal(decide(table, req({ path })).allow, true, path);
  }
  for (const path of ['/v1/reposx', '/v1/rep', '/v1', '/']) {
    assert.equal(decide(table, req({ path })).allow, false, path);
  }
  const only = compileRoutes([route('p.test', [{ paths: [{ type: 'prefix', value: '/a' }], methods: [], headers: [] }])]);
  const d = decide(only, req({ host: 'p.test', path: '/ab' }));
  assert.equal(d.allow, false);
  if (!d.allow) assert.equal(d.reason, 'path-not-allowed');
});

void test('exact and regex paths; regex is anchored', () => {
  assert.equal(decide(table, req({ method: 'POST', path: '/v1/graphql' })).allow, true);
  assert.equal(decide(table, req({ method: 'POST', path: '/v1/graphql/x' })).allow, false);
  assert.equal(decide(table, req({ method: 'DELETE', path: '/v2/items/42' })).allow, true);
  assert.equal(decide(table, req({ path: '/v2/items/42/x' })).allow, false);
  assert.equal(decide(table, req({ path: '/x/v2/items/42' })).allow, false);
});

void test('methods: listed ones only; the reason says method when the path matched', () => {
  const d = decide(table, req({ method: 'POST', path: '/v1/repos/a' }));
  assert.equal(d.allow, false);
  if (!d.allow) {
    assert.equal(d.reason, 'method-not-allowed');
    assert.match(d.detail, /POST \/v1\/repos\/a/);
  }
  assert.equal(decide(table, req({ method: 'get', path: '/v1/repos/a' })).allow, true);
});

void test('headers: exact values and anchored regexes, names case-insensitive', () => {
  assert.equal(decide(table, req({ method: 'PUT', path: '/any', headers: { 'x-tenant': 'acme' } })).allow, true);
  const wrong = decide(table, req({ method: 'PUT', path: '/any', headers: { 'x-tenant': 'acme2' } }));
  assert.equal(wrong.allow, false);
  if (!wrong.allow) assert.equal(wrong.reason, 'header-not-matched');
  assert.equal(decide(table, req({ method: 'PUT', path: '/any', headers: {} })).allow, false);
  assert.equal(decide(table, req({ method: 'POST', path: '/hooks/x', headers: { 'content-type': 'application/json' } })).allow, true);
  assert.equal(decide(table, req({ method: 'POST', path: '/hooks/x', headers: { 'content-type': 'application/jsonx' } })).allow, false);
  assert.equal(decide(table, req({ method: 'POST', path: '/hooks/x', headers: { 'content-type': ['application/xml'] } })).allow, true);
});

void test('the suggestion is the route plus a match for exactly this request, in YAML', () => {
  const d = decide(table, req({ method: 'DELETE', path: '/v1/repos/a?force=1' }));
  assert.equal(d.allow, false);
  if (d.allow) return;
  assert.match(d.suggestion, /^egress:\n {2}routes:\n {4}- host: "api\.example\.com"\n {6}matches:\n/);
  assert.match(d.suggestion, /- paths: \[\{type: exact, value: "\/v1\/repos\/a"\}\]\n {10}methods: \[DELETE\]/);
  // The route's existing matches stay, so the snippet replaces the route without losing anything.
  assert.match(d.suggestion, /value: "\/v1\/graphql"/);
  assert.match(d.suggestion, /dlp: \{outbound: true, inbound: false, on_match: block, entropy: false\}/);
  assert.doesNotMatch(d.suggestion, /force=1/);
});

void test('the suggestion for a new host names host:port when not 443, and carries auth by reference only', () => {
  const s = suggestRoute(undefined, req({ host: 'new.test', port: 8443, path: '/a' }), true);
  assert.match(s, /- host: "new\.test:8443"/);
  const withAuth: EgressRoute = { ...route('gh.test', [{ paths: [{ type: 'prefix', value: '/x' }], methods: [], headers: [] }]), auth: { scheme: 'Bearer', token_ref: 'GH_TOKEN', header: 'Authorization' } };
  const s2 = suggestRoute(withAuth, req({ host: 'gh.test', path: '/y' }), true);
  assert.match(s2, /auth: \{scheme: "Bearer", token_ref: "GH_TOKEN", header: "Authorization"\}/);
});
