/**
 * HTTPS stand-ins for the providers' streaming APIs, for the real clients in
 * real bottles. Each stand-in plays one scripted exchange: the first turn
 * answers with a tool call that runs the test's shell command; once the
 * client sends the tool's output back, the final answer is `<finalPrefix>`
 * followed by that output. Every request is recorded (headers and body) so a
 * test can check which credential reached the provider.
 *
 * Reaching it: the provider's host must be on port 443 from the bottle's
 * proxy. Each stand-in gets an address of its own on this host (the gateway
 * of a Docker network it creates) and listens on 443 there, so parallel runs
 * never collide; the bottle maps the provider host to that address with
 * `egress.hosts` and trusts the stand-in's CA with `egress.ca_certs`.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createCa, LeafMinter } from '../src/sidecars/egress/certs.js';
import { docker } from './helpers.js';

export interface RecordedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface StandInScript {
  /** Shell command the model asks the client to run. */
  readonly command: string;
  /** The final answer is this prefix followed by the tool's output. */
  readonly finalPrefix: string;
  /** Extra tool the first turn calls instead of the shell (e.g. an MCP tool), by name. */
  readonly toolName?: string;
}

export interface StandIn {
  readonly address: string;
  /** PEM file of the CA that signed the stand-in's certificates. */
  readonly caFile: string;
  readonly requests: RecordedRequest[];
  /** Tool outputs the client sent back, in order. */
  readonly toolOutputs: string[];
  /** Play a new exchange from the next request on. */
  setScript(script: StandInScript): void;
  close(): Promise<void>;
}

interface StandInState {
  script: StandInScript;
  readonly toolOutputs: string[];
  turn: number;
}

/** Start a stand-in; `dir` receives the CA file. */
export async function startStandIn(kind: 'anthropic' | 'openai' | 'gemini', script: StandInScript, dir: string): Promise<StandIn> {
  const net = `bb-standin-${randomBytes(4).toString('hex')}`;
  await docker(['network', 'create', '--label', 'bot-bottle-test.standin=true', net]);
  let server: Server | undefined;
  try {
    const address = await docker(['network', 'inspect', net, '--format', '{{(index .IPAM.Config 0).Gateway}}']);
    const ca = await createCa('provider-standin');
    const caFile = join(dir, `${kind}-standin-ca.pem`);
    writeFileSync(caFile, ca.certPem);
    const minter = new LeafMinter(ca);
    const requests: RecordedRequest[] = [];
    const state: StandInState = { script, toolOutputs: [], turn: 0 };
    const handler = kind === 'anthropic' ? anthropic : kind === 'openai' ? openai : gemini;
    const srv = createServer({ SNICallback: (name, cb) => void minter.contextFor(name).then((c) => cb(null, c), (e: Error) => cb(e)) }, (req, res) => {
      void readBody(req).then((body) => {
        const rec: RecordedRequest = { at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
        requests.push(rec);
        try {
          handler(rec, res, state);
        } catch (e) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: String(e) } }));
        }
      });
    });
    // WebSocket upgrades (codex tries one first) are refused like a plain HTTP server would.
    srv.on('upgrade', (req: IncomingMessage, socket) => {
      requests.push({ at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: '' });
      socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(443, address, resolve);
    });
    return {
      address,
      caFile,
      requests,
      toolOutputs: state.toolOutputs,
      setScript: (next) => {
        state.script = next;
        state.turn = 0;
      },
      close: async () => {
        srv.closeAllConnections();
        await new Promise<void>((r) => srv.close(() => r()));
        await docker(['network', 'rm', net]).catch(() => undefined);
      },
    };
  } catch (e) {
    server?.close();
    await docker(['network', 'rm', net]).catch(() => undefined);
    throw e;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': buf.length });
  res.end(buf);
}

function sse(res: ServerResponse, events: readonly { event?: string; data: unknown }[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) res.write(`${e.event ? `event: ${e.event}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`);
  res.end();
}

function parse(body: string): Record<string, unknown> {
  try {
    const v = JSON.parse(body) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asObj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});

/** Text of a tool result's content, whatever shape the client sent. */
function contentText(v: unknown): string {
  if (typeof v === 'string') return v;
  return asArray(v)
    .map((p) => (typeof p === 'string' ? p : typeof asObj(p).text === 'string' ? (asObj(p).text as string) : ''))
    .join('');
}

// ---------------------------------------------------------------- Anthropic Messages API

function anthropic(req: RecordedRequest, res: ServerResponse, st: StandInState): void {
  const path = req.path.split('?')[0];
  if (req.method !== 'POST' || path !== '/v1/messages') {
    return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: `stand-in: no ${req.method} ${path}` } });
  }
  const body = parse(req.body);
  const model = typeof body.model === 'string' ? body.model : 'claude-stand-in';
  const tools = asArray(body.tools).map((t) => asObj(t).name);
  const messages = asArray(body.messages);
  const last = asObj(messages.at(-1));
  const toolResult = asArray(last.content)
    .map(asObj)
    .find((b) => b.type === 'tool_result');
  const wanted = st.script.toolName ?? 'Bash';
  const toolUse = (name: string, input: unknown) => [{ type: 'tool_use' as const, id: `toolu_${randomBytes(8).toString('hex')}`, name, input }];
  let blocks: { type: 'text'; text: string }[] | { type: 'tool_use'; id: string; name: string; input: unknown }[];
  let stop = 'tool_use';
  if (toolResult !== undefined && st.turn === 1 && tools.includes(wanted)) {
    // The deferred tool was loaded by ToolSearch: now call it.
    st.turn = 2;
    blocks = toolUse(wanted, {});
  } else if (toolResult !== undefined) {
    const out = contentText(toolResult.content);
    st.toolOutputs.push(out);
    blocks = [{ type: 'text', text: `${st.script.finalPrefix}${out}` }];
    stop = 'end_turn';
  } else if (tools.includes(wanted)) {
    st.turn = 2;
    blocks = toolUse(wanted, st.script.toolName === undefined ? { command: st.script.command, description: 'stand-in tool call' } : {});
  } else if (wanted.startsWith('mcp__') && tools.includes('ToolSearch') && req.body.includes(wanted)) {
    // Claude Code defers MCP tools: the model loads one with ToolSearch first.
    st.turn = 1;
    blocks = toolUse('ToolSearch', { query: `select:${wanted}`, max_results: 5 });
  } else {
    // Side requests (titles, summaries): a short answer.
    blocks = [{ type: 'text', text: 'stand-in' }];
    stop = 'end_turn';
  }
  const id = `msg_${randomBytes(8).toString('hex')}`;
  const usage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  if (body.stream !== true) {
    return json(res, 200, { id, type: 'message', role: 'assistant', model, content: blocks, stop_reason: stop, stop_sequence: null, usage });
  }
  const events: { event: string; data: unknown }[] = [
    { event: 'message_start', data: { type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } } },
  ];
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } });
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } } });
    } else {
      events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } } });
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(b.input) } } });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  });
  events.push({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 5 } } });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  sse(res, events);
}

// ---------------------------------------------------------------- OpenAI Responses API

function openai(req: RecordedRequest, res: ServerResponse, st: StandInState): void {
  const raw = req.path.split('?')[0] ?? '';
  // A ChatGPT sign-in: Codex first discovers the workspace of the auth file's account (and will not start without it).
  if (req.method === 'GET' && raw === '/backend-api/wham/accounts/check') return json(res, 200, chatgptAccounts(req));
  if (req.method === 'GET' && raw === '/backend-api/codex/models') return json(res, 200, { models: [] });
  // The API (api.openai.com/v1/…) and, for a ChatGPT sign-in, chatgpt.com/backend-api/codex/…: the same protocol.
  const path = raw.replace(/^\/backend-api\/codex\//, '/v1/');
  if (req.method === 'GET' && path === '/v1/models') return json(res, 200, { object: 'list', data: [] });
  if (req.method !== 'POST' || path !== '/v1/responses') {
    return json(res, 404, { error: { message: `stand-in: no ${req.method} ${path}`, type: 'invalid_request_error' } });
  }
  const body = parse(req.body);
  const input = asArray(body.input).map(asObj);
  const tools = openaiTools(body);
  const output = [...input].reverse().find((i) => i.type === 'function_call_output' || i.type === 'custom_tool_call_output');
  const id = `resp_${randomBytes(8).toString('hex')}`;
  const model = typeof body.model === 'string' ? body.model : 'gpt-stand-in';
  const message = (text: string) => ({ type: 'message', id: `msg_${randomBytes(6).toString('hex')}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] });
  let items: Record<string, unknown>[];
  if (output !== undefined) {
    const o = output.output;
    const text = typeof o === 'string' ? o : contentText(asObj(o).content ?? o);
    st.toolOutputs.push(text);
    items = [message(`${st.script.finalPrefix}${text}`)];
  } else if (st.turn === 0) {
    st.turn++;
    items = [openaiToolCall(tools, st.script)];
  } else {
    items = [message('stand-in')];
  }
  const base = { id, object: 'response', created_at: Math.floor(Date.now() / 1000), model, status: 'in_progress', output: [] as unknown[] };
  const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 };
  const events: { event: string; data: unknown }[] = [{ event: 'response.created', data: { type: 'response.created', response: base } }];
  items.forEach((item, i) => {
    events.push({ event: 'response.output_item.added', data: { type: 'response.output_item.added', output_index: i, item } });
    const content = asArray(item.content).map(asObj)[0];
    if (content && typeof content.text === 'string') {
      events.push({ event: 'response.output_text.delta', data: { type: 'response.output_text.delta', item_id: item.id, output_index: i, content_index: 0, delta: content.text } });
    }
    events.push({ event: 'response.output_item.done', data: { type: 'response.output_item.done', output_index: i, item } });
  });
  events.push({ event: 'response.completed', data: { type: 'response.completed', response: { ...base, status: 'completed', output: items, usage } } });
  sse(res, events);
}

/** chatgpt.com's answer to workspace discovery: one personal workspace, the account the client named, no routing elsewhere. */
function chatgptAccounts(req: RecordedRequest): Record<string, unknown> {
  const header = req.headers['chatgpt-account-id'];
  const id = (Array.isArray(header) ? header[0] : header) ?? 'acct-standin';
  const workspace = {
    account_id: id,
    account_user_id: `user-standin__${id}`,
    account_user_role: 'account-owner',
    structure: 'personal',
    plan_type: 'plus',
    name: 'stand-in',
    is_deactivated: false,
    is_zdr: false,
    is_openai_internal: false,
    is_fedramp_compliant_workspace: false,
    workspace_backend_origin: 'NO_CONSTRAINT',
    account_routing_override: 'NO_CONSTRAINT',
  };
  return { accounts: [{ id, ...workspace, can_access_with_session: true }], default_account_id: id, account_ordering: [id] };
}

/** Tool names the client offered: top-level `tools`, or namespaces in an `additional_tools` input item. */
function openaiTools(body: Record<string, unknown>): Map<string, string> {
  const out = new Map<string, string>();
  const add = (list: unknown): void => {
    for (const t of asArray(list).map(asObj)) {
      if (t.type === 'namespace') add(t.tools);
      else if (typeof t.name === 'string') out.set(t.name, typeof t.type === 'string' ? t.type : 'function');
    }
  };
  add(body.tools);
  for (const i of asArray(body.input).map(asObj)) if (i.type === 'additional_tools') add(i.tools);
  return out;
}

/** JavaScript identifier Codex's code mode gives a nested tool (`mcp__server__tool`, dashes as underscores). */
const codeModeName = (name: string): string => name.replace(/[^A-Za-z0-9_$]/g, '_');

function openaiToolCall(tools: Map<string, string>, script: StandInScript): Record<string, unknown> {
  const callId = `call_${randomBytes(8).toString('hex')}`;
  const wanted = script.toolName;
  if (tools.get('exec') === 'custom') {
    // Code mode: the model writes JavaScript that calls nested tools.
    const js =
      wanted === undefined
        ? `const r = await tools.exec_command({cmd: ${JSON.stringify(script.command)}, yield_time_ms: 30000});\ntext(typeof r === 'string' ? r : r.output);`
        : `const r = await tools.${codeModeName(wanted)}({});\ntext(JSON.stringify(r));`;
    return { type: 'custom_tool_call', id: `ctc_${randomBytes(6).toString('hex')}`, call_id: callId, name: 'exec', input: js, status: 'completed' };
  }
  let name: string;
  let args: unknown;
  if (wanted !== undefined) {
    name = wanted;
    args = {};
  } else if (tools.has('exec_command')) {
    name = 'exec_command';
    args = { cmd: script.command };
  } else if (tools.has('shell_command')) {
    name = 'shell_command';
    args = { command: script.command };
  } else {
    name = 'shell';
    args = { command: ['bash', '-lc', script.command] };
  }
  return { type: 'function_call', id: `fc_${randomBytes(6).toString('hex')}`, call_id: callId, name, arguments: JSON.stringify(args), status: 'completed' };
}

// ---------------------------------------------------------------- Gemini API (generativelanguage)

function gemini(req: RecordedRequest, res: ServerResponse, st: StandInState): void {
  const path = req.path.split('?')[0] ?? '';
  const m = /^\/v1(?:beta)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/.exec(path);
  if (req.method !== 'POST' || m === null) return json(res, 404, { error: { code: 404, message: `stand-in: no ${req.method} ${path}`, status: 'NOT_FOUND' } });
  const op = m[2];
  if (op === 'countTokens') return json(res, 200, { totalTokens: 10 });
  const body = parse(req.body);
  const contents = asArray(body.contents).map(asObj);
  const parts = asArray(contents.at(-1)?.parts).map(asObj);
  const response = parts.find((p) => p.functionResponse !== undefined);
  const tools = asArray(body.tools).flatMap((t) => asArray(asObj(t).functionDeclarations)).map((d) => asObj(d).name);
  const wanted = st.script.toolName ?? 'run_shell_command';
  let out: Record<string, unknown>[];
  if (response !== undefined) {
    const r = asObj(asObj(response.functionResponse).response);
    const text = typeof r.output === 'string' ? r.output : JSON.stringify(r);
    st.toolOutputs.push(text);
    out = [{ text: `${st.script.finalPrefix}${text}` }];
  } else if (op === 'streamGenerateContent' && tools.includes(wanted)) {
    out = [{ functionCall: { name: wanted, args: st.script.toolName === undefined ? { command: st.script.command, description: 'stand-in tool call' } : {} } }];
  } else {
    // Side requests (next-speaker checks, summaries): a short JSON-ish answer.
    out = [{ text: '{"reasoning": "the answer is complete", "next_speaker": "user"}' }];
  }
  const chunk = {
    candidates: [{ content: { role: 'model', parts: out }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
    modelVersion: m[1],
  };
  if (op === 'generateContent') return json(res, 200, chunk);
  sse(res, [{ data: chunk }]);
}
