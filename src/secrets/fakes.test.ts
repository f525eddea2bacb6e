/**
 * Fake credentials for the scanner's tests: shaped like the real thing,
 * generated at run time from a seeded PRNG so that no credential-shaped
 * literal sits in the source (the gate scans this repository too). No tests here.
 */

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
export const ALNUM = UPPER + LOWER + DIGITS;
export const HEX = '0123456789abcdef';
export const B64 = ALNUM + '+/';
export const B64URL = ALNUM + '-_';
export const BASE32 = UPPER + '234567';

let state = 0x9e3779b9;
/** Reset the generator: the same seed gives the same fakes. */
export function seed(n: number): void {
  state = n >>> 0;
}
function next(): number {
  let t = (state = (state + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export function chars(alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(next() * alphabet.length)];
  return s;
}
export function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
  return b;
}

/** Glue prefixes on at run time: `p('gh', 'p_')`. */
export const p = (...parts: string[]): string => parts.join('');

export const fake = {
  awsId: () => p('AK', 'IA') + chars(BASE32, 16),
  awsSecret: () => chars(B64, 40),
  ghp: () => p('gh', 'p_') + chars(ALNUM, 36),
  gho: () => p('gh', 'o_') + chars(ALNUM, 36),
  ghu: () => p('gh', 'u_') + chars(ALNUM, 36),
  ghs: () => p('gh', 's_') + chars(ALNUM, 36),
  ghr: () => p('gh', 'r_') + chars(ALNUM, 36),
  githubPat: () => p('github', '_pat_') + chars(ALNUM, 22) + '_' + chars(ALNUM, 59),
  glpat: () => p('glp', 'at-') + chars(ALNUM, 20),
  xoxb: () => `${p('xo', 'xb')}-${chars(DIGITS, 12)}-${chars(DIGITS, 13)}-${chars(ALNUM, 24)}`,
  xoxp: () => `${p('xo', 'xp')}-${chars(DIGITS, 11)}-${chars(DIGITS, 12)}-${chars(DIGITS, 13)}-${chars(HEX, 32)}`,
  slackHook: () => `https://${p('hooks.sl', 'ack.com')}/services/T${chars(UPPER + DIGITS, 8)}/B${chars(UPPER + DIGITS, 10)}/${chars(ALNUM, 24)}`,
  stripe: () => p('sk_', 'live_') + chars(ALNUM, 24),
  stripeRestricted: () => p('rk_', 'live_') + chars(ALNUM, 24),
  openaiProject: () => p('sk-', 'proj-') + chars(B64URL, 74) + p('T3Blbk', 'FJ') + chars(B64URL, 74),
  openaiLegacy: () => 'sk-' + chars(ALNUM, 20) + p('T3Blbk', 'FJ') + chars(ALNUM, 20),
  anthropic: () => p('sk-ant-', 'api03-') + chars(B64URL, 93) + 'AA',
  anthropicAdmin: () => p('sk-ant-', 'admin01-') + chars(B64URL, 93) + 'AA',
  google: () => p('AI', 'za') + chars(ALNUM + '_-', 35),
  npm: () => p('np', 'm_') + chars(ALNUM, 36),
  twilioKey: () => 'SK' + chars(HEX, 32),
  twilioSid: () => 'AC' + chars(HEX, 32),
  sendgrid: () => `${p('S', 'G.')}${chars(B64URL, 22)}.${chars(B64URL, 43)}`,
  jwt: () => {
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ sub: chars(DIGITS, 8), scope: 'admin', iat: 1700000000 })).toString('base64url');
    return `${head}.${body}.${chars(B64URL, 43)}`;
  },
  pem: (label: string, headers = '') => {
    const lines = (bytes(600).toString('base64').match(/.{1,64}/g) ?? []).join('\n');
    return `-----${p('BEG', 'IN')} ${label}-----\n${headers}${lines}\n-----END ${label}-----`;
  },
  password: () => chars(ALNUM, 6) + '#' + chars(ALNUM, 5) + '!' + chars(DIGITS, 3),
};
