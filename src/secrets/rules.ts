/**
 * The scanner's rules, as data.
 *
 * Patterns are derived from public knowledge of the providers' token formats
 * and of two well-kept rule sets: gitleaks' `config/gitleaks.toml`
 * (github.com/gitleaks/gitleaks, MIT) and secretlint's
 * `@secretlint/secretlint-rule-preset-recommend` (MIT). They are rewritten
 * here, not copied: every regex is linear-time by construction (bounded
 * repetitions, no nested quantifiers over overlapping classes), and each rule
 * names the lowercase keywords that must occur in a text before its regex is
 * run at all (gitleaks' keyword prefilter).
 *
 * Decisions:
 * - Stripe test-mode keys (`sk_test_`, `rk_test_`) and publishable keys
 *   (`pk_live_`, `pk_test_`) are NOT findings: publishable keys are public by
 *   design, and test-mode keys cannot move money; they are committed to
 *   fixtures everywhere and reporting them would teach users to ignore the gate.
 * - A Twilio account SID (`AC` + 32 hex) is an identifier, not a credential; it
 *   is reported only when an auth token is mentioned near it.
 */

import { base58Check, cardNumber, iban, seedPhrase } from './financial.js';
import { jwtHeaderIsJson, looksLikeIdentifier, pemHasBody } from './shape-checks.js';
import { secretLikeValue } from './value.js';

/**
 * Rule packs a route may turn on (`dlp.rules`). `credentials` is what the
 * git-gate and `scan` use and what every DLP route has by default; the others
 * are opt-in on the egress path.
 */
export const RULE_PACKS = ['credentials', 'pii', 'financial'] as const;
export type RulePack = (typeof RULE_PACKS)[number];

export interface Rule {
  /** Stable id, reported in findings. */
  readonly id: string;
  readonly description: string;
  /** Lowercase substrings; the regex runs only when one occurs in the (lowercased) text. */
  readonly keywords: readonly string[];
  /** Global (`g`) and with indices (`d`); linear-time. */
  readonly regex: RegExp;
  /** Capture group holding the secret (default 0: the whole match); with a list, the first that matched. */
  readonly secretGroup?: number | readonly number[];
  /** Minimum Shannon entropy (bits/char) of the secret. */
  readonly entropy?: number;
  /** Minimum number of character classes (lower, upper, digit, other) of the secret. */
  readonly minClasses?: number;
  /** Secrets matching any of these are placeholders, not findings. */
  readonly allow?: readonly RegExp[];
  /** Skip the generic placeholder-word check (for rules whose match is a whole block). */
  readonly noPlaceholderCheck?: boolean;
  /** The rule fires only if this matches within `window` characters around the match. */
  readonly nearby?: { readonly pattern: RegExp; readonly window: number };
  /** Last check on the secret (format validation, e.g. a JWT header that is JSON). */
  readonly validate?: (secret: string) => boolean;
  /** Generic rules lose to specific ones when both match the same text. */
  readonly generic?: boolean;
  /** The pack the rule belongs to (default `credentials`). */
  readonly pack?: RulePack;
  /**
   * The egress path's regex: looser lengths and no word boundaries, so a
   * letter glued to a key (`xAKIA…`) or a truncated token still matches.
   * Default: `regex` without its boundary look-arounds.
   */
  readonly loose?: RegExp;
  /** Only on the egress path (a `KEY=value` dump is ordinary in a pushed `.env.example`). */
  readonly egressOnly?: boolean;
  /** `validate` is about structure (a PEM body, a checksum of the pack rules), kept on the egress path. */
  readonly structural?: boolean;
  /**
   * Every match lies on one line, holds one of `keywords`, and matches the
   * same with the text cut to its line (no look-around past the line's
   * ends, `$` only where a line break also ends it): the regex then runs
   * on the lines where a keyword occurs, not the whole text (rules.test.ts checks it).
   */
  readonly lineLocal?: boolean;
}

// Boundaries: a token is not part of a longer identifier-ish run.
const B = '(?<![A-Za-z0-9_])';
const E = '(?![A-Za-z0-9_])';
const E_DASH = '(?![A-Za-z0-9_-])';
const B_DASH = '(?<![A-Za-z0-9_-])';

function re(source: string, flags = ''): RegExp {
  return new RegExp(source, 'gd' + flags);
}

/** The egress form of a rule's regex: its boundary look-arounds removed. */
export function looseRegex(rule: Rule): RegExp {
  if (rule.loose) return rule.loose;
  let src = rule.regex.source;
  for (const b of [B_DASH, E_DASH, B, E]) src = src.split(b).join('');
  return new RegExp(src, rule.regex.flags);
}

/** An assignment operator between a name and its value: `=`, `:`, `:=`, `=>`, with optional quotes/space. */
const ASSIGN = `["']?[ \\t]{0,8}(?::{1,3}=|=>|\\|\\|=|\\?\\??=|=|:|>)[ \\t]{0,8}["'\`]?`;

const GENERIC_NAMES =
  'password|passwd|passphrase|pwd|secret|api[_.-]?key|apikey|access[_.-]?key|private[_.-]?key|(?<!(?:next|page|continuation|pagination|csrf|xsrf|sync|cursor|resume)[_.-]?|\\.(?:svg|png)\\?)token|auth[_.-]?key|credentials?|client[_.-]?secret|consumer[_.-]?secret|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key';

/**
 * How a secret-sounding name ends when it names something about the secret, not
 * the secret: `tokenHash`, `requested_token_type`, `API_KEY_ENV_NAME`,
 * `secretPath`, `credentialID`, `token_ttl`.
 */
const NOT_A_SECRET_NAME = '(?:hash|digest|type|name|url|uri|endpoint|path|file|length|size|ttl|count|prefix|header|field|env|id)';

/** Values a secret-sounding name is often given that are not secrets. */
const GENERIC_ALLOW: readonly RegExp[] = [
  // paths, URLs and code references are not secrets
  /^(?:\/|\.\.?\/|~\/|[a-z]+:\/\/)/i,
  /^(?:process\.env|os\.environ|env\.|os\.getenv|System\.getenv|ENV\[|config\.|settings\.|self\.|this\.|args\.|req\.|request\.|params\.)/,
  /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\)?)?$/,
  /^[A-Za-z_$][\w$]*\(/,
  // hashes and UUIDs: identifiers, not credentials (a hex digest named like a secret still is a digest)
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /^(?:sha(?:1|256|384|512)|md5|bcrypt|argon2\w*)[:-]/i,
  /^\$(?:2[aby]?|argon2\w*|[156])\$/,
  // identifiers: snake_case, kebab-case, dotted, camelCase words without digits
  /^[A-Za-z]+(?:[_.-][A-Za-z]+)+$/,
  /^[a-z]+(?:[A-Z][a-z]+)+$/,
  // expressions: negations, calls, string concatenation, regex character classes
  /^!+[A-Za-z_$]/,
  /\(\)|['"`]\s*\+|\+\s*['"`]/,
  /\[\^?[A-Za-z0-9]-[A-Za-z0-9]|[A-Za-z0-9]-[A-Za-z0-9]\]/,
  // type annotations and literals
  /^(?:true|false|null|none|nil|undefined|string|number|boolean|optional|required|bytes|str|int)$/i,
];

export const RULES: readonly Rule[] = [
  // ---- cloud providers
  {
    id: 'aws-access-key-id',
    description: 'AWS access key id',
    keywords: ['akia', 'asia', 'abia', 'acca', 'a3t', 'agpa', 'aida', 'aroa', 'aipa', 'anpa', 'anva'],
    regex: re(`${B}((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16})${E}`),
    secretGroup: 1,
    entropy: 3.0,
  },
  {
    id: 'aws-secret-access-key',
    description: 'AWS secret access key (40 characters assigned to an aws/secret name)',
    keywords: ['aws', 'secretaccesskey', 'secret_access_key', 'secret-access-key'],
    regex: re(`(?:aws[A-Za-z0-9_. -]{0,32}|secret[_-]?access[_-]?key[A-Za-z0-9_.-]{0,8})${ASSIGN}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`, 'i'),
    secretGroup: 1,
    entropy: 4.0,
    minClasses: 3,
  },
  {
    id: 'gcp-api-key',
    description: 'Google API key',
    keywords: ['aiza'],
    regex: re(`${B_DASH}(AIza[0-9A-Za-z_-]{35})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('AIza[0-9A-Za-z_-]{30,40}'),
  },
  {
    id: 'gcp-oauth-access-token',
    description: 'Google OAuth 2.0 access token (from the metadata server or gcloud)',
    keywords: ['ya29.'],
    regex: re(`${B_DASH}(ya29\\.[A-Za-z0-9_-]{30,2048})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.5,
  },
  {
    id: 'gcp-service-account-key',
    description: 'Google service account JSON private key',
    keywords: ['service_account'],
    regex: re(`"type"\\s{0,8}:\\s{0,8}"service_account"`),
    noPlaceholderCheck: true,
    nearby: { pattern: /"private_key"\s{0,8}:\s{0,8}"-----BEGIN/, window: 4000 },
  },
  // ---- source forges
  {
    id: 'github-pat',
    description: 'GitHub personal access token (classic)',
    keywords: ['ghp_'],
    regex: re(`${B}(ghp_[A-Za-z0-9]{36,255})${E}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('ghp_[A-Za-z0-9]{30,255}'),
  },
  {
    id: 'github-fine-grained-pat',
    description: 'GitHub fine-grained personal access token',
    keywords: ['github_pat_'],
    regex: re(`${B}(github_pat_[A-Za-z0-9_]{82,255})${E}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('github_pat_[A-Za-z0-9_]{40,255}'),
  },
  {
    id: 'github-oauth',
    description: 'GitHub OAuth access token',
    keywords: ['gho_'],
    regex: re(`${B}(gho_[A-Za-z0-9]{36,255})${E}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('gho_[A-Za-z0-9]{30,255}'),
  },
  {
    id: 'github-app-token',
    description: 'GitHub App user-to-server or server-to-server token',
    keywords: ['ghu_', 'ghs_'],
    regex: re(`${B}(gh[us]_[A-Za-z0-9]{36,255})${E}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('gh[us]_[A-Za-z0-9]{30,255}'),
  },
  {
    id: 'github-refresh-token',
    description: 'GitHub refresh token',
    keywords: ['ghr_'],
    regex: re(`${B}(ghr_[A-Za-z0-9]{36,255})${E}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('ghr_[A-Za-z0-9]{30,255}'),
  },
  {
    id: 'gitlab-pat',
    description: 'GitLab personal, project or group access token',
    keywords: ['glpat-'],
    regex: re(`${B_DASH}(glpat-[A-Za-z0-9_-]{20,200}(?:\\.[A-Za-z0-9_.-]{2,40})?)${E_DASH}`),
    secretGroup: 1,
    entropy: 3.3,
  },
  {
    id: 'gitlab-token',
    description: 'GitLab deploy, pipeline trigger, runner or feed token',
    keywords: ['gldt-', 'glptt-', 'glrt-', 'glft-', 'glsoat-', 'gr1348941'],
    regex: re(`${B_DASH}((?:gldt-|glptt-|glrt-|glft-|glsoat-|GR1348941)[A-Za-z0-9_-]{20,200})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.3,
  },
  // ---- chat
  {
    id: 'slack-bot-token',
    description: 'Slack bot token',
    keywords: ['xoxb-'],
    regex: re(`${B_DASH}(xoxb-[0-9]{8,13}-[0-9]{8,13}-[A-Za-z0-9]{16,64})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.0,
  },
  {
    id: 'slack-user-token',
    description: 'Slack user, workspace or legacy token',
    keywords: ['xoxp-', 'xoxe-', 'xoxa-', 'xoxo-', 'xoxr-', 'xoxs-'],
    regex: re(`${B_DASH}(xox[pearos]-(?:[0-9]{8,13}-){1,3}[A-Za-z0-9]{16,64})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.0,
  },
  {
    id: 'slack-app-token',
    description: 'Slack app-level or configuration token',
    keywords: ['xapp-', 'xoxe.'],
    regex: re(`${B_DASH}(xapp-[0-9]-[A-Z0-9]{6,16}-[0-9]{6,16}-[a-f0-9]{32,80}|xoxe\\.xox[bp]-[0-9]-[A-Za-z0-9]{100,200})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.0,
  },
  {
    id: 'slack-webhook-url',
    description: 'Slack incoming webhook URL',
    keywords: ['hooks.slack.com'],
    regex: re(`(?:https?://)?hooks\\.slack\\.com/(?:services|workflows|triggers)/(T[A-Z0-9]{6,14}/[AB][A-Z0-9]{6,14}/[A-Za-z0-9]{20,40}|[A-Za-z0-9+/]{40,60})${E}`),
    secretGroup: 1,
    entropy: 3.0,
  },
  // ---- payments
  {
    id: 'stripe-secret-key',
    description: 'Stripe live secret or restricted key (test and publishable keys are not findings)',
    keywords: ['sk_live_', 'rk_live_', 'sk_prod_', 'rk_prod_'],
    regex: re(`${B}((?:sk|rk)_(?:live|prod)_[A-Za-z0-9]{20,247})${E}`),
    secretGroup: 1,
    entropy: 3.3,
    loose: re('(?:sk|rk)_(?:live|prod)_[A-Za-z0-9]{12,247}'),
  },
  // ---- AI providers
  {
    id: 'anthropic-api-key',
    description: 'Anthropic API key',
    keywords: ['sk-ant-api'],
    regex: re(`${B_DASH}(sk-ant-api[0-9]{2}-[A-Za-z0-9_-]{32,200})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('sk-ant-api[0-9]{2}-[A-Za-z0-9_-]{16,200}'),
  },
  {
    id: 'anthropic-admin-key',
    description: 'Anthropic admin API key',
    keywords: ['sk-ant-admin'],
    regex: re(`${B_DASH}(sk-ant-admin[0-9]{2}-[A-Za-z0-9_-]{32,200})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('sk-ant-admin[0-9]{2}-[A-Za-z0-9_-]{16,200}'),
  },
  {
    id: 'openai-api-key',
    description: 'OpenAI project, service-account, admin or legacy API key',
    keywords: ['sk-proj-', 'sk-svcacct-', 'sk-admin-', 't3blbkfj'],
    regex: re(
      `${B_DASH}(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,250}|sk-[A-Za-z0-9_-]{16,100}T3BlbkFJ[A-Za-z0-9_-]{16,100})${E_DASH}`,
    ),
    secretGroup: 1,
    entropy: 3.5,
  },
  // ---- package registries, messaging
  {
    id: 'npm-access-token',
    description: 'npm access token',
    keywords: ['npm_'],
    regex: re(`${B}(npm_[A-Za-z0-9]{36})${E}`),
    secretGroup: 1,
    entropy: 3.5,
    loose: re('npm_[A-Za-z0-9]{30,64}'),
  },
  {
    id: 'twilio-api-key',
    description: 'Twilio API key SID',
    keywords: ['sk'],
    regex: re(`${B}(SK[0-9a-fA-F]{32})${E}`),
    secretGroup: 1,
    entropy: 3.0,
  },
  {
    id: 'twilio-auth-token',
    description: 'Twilio auth token (32 hex assigned to a twilio/auth token name)',
    keywords: ['twilio', 'auth_token', 'authtoken', 'auth-token'],
    regex: re(`(?:twilio[A-Za-z0-9_.-]{0,24}(?:auth|token|secret)|auth[_-]?token)[A-Za-z0-9_.-]{0,16}${ASSIGN}([0-9a-f]{32})(?![A-Za-z0-9])`, 'i'),
    secretGroup: 1,
    entropy: 3.0,
  },
  {
    id: 'twilio-account-sid',
    description: 'Twilio account SID next to an auth token',
    keywords: ['ac'],
    regex: re(`${B}(AC[0-9a-f]{32})${E}`),
    secretGroup: 1,
    entropy: 3.0,
    nearby: { pattern: /auth[_ -]?token|twilio[_ -]?(?:auth|token|secret)/i, window: 300 },
  },
  {
    id: 'sendgrid-api-key',
    description: 'SendGrid API key',
    keywords: ['sg.'],
    regex: re(`${B_DASH}(SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.5,
  },
  {
    id: 'mailgun-api-key',
    description: 'Mailgun private API key',
    keywords: ['key-'],
    regex: re(`(?:mailgun|mg)[A-Za-z0-9_.-]{0,24}${ASSIGN}(key-[0-9a-f]{32})${E}`, 'i'),
    secretGroup: 1,
    entropy: 3.0,
  },
  // ---- structured credentials
  {
    id: 'jwt',
    description: 'JSON Web Token',
    keywords: ['eyj'],
    regex: re(`${B_DASH}(eyJ[A-Za-z0-9_-]{10,4096}\\.eyJ[A-Za-z0-9_-]{10,8192}\\.[A-Za-z0-9_-]{10,4096})${E_DASH}`),
    secretGroup: 1,
    entropy: 3.5,
    validate: jwtHeaderIsJson,
    // jwt.io's own example token, in every tutorial
    allow: [/SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c$/],
  },
  {
    id: 'private-key',
    description: 'Private key block (PEM: RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8, PGP, …)',
    keywords: ['private key'],
    regex: re(
      '-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\\s\\S]{0,65536}?-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\\s\\\\:,-]{64,65536})',
    ),
    noPlaceholderCheck: true,
    validate: pemHasBody,
    structural: true,
  },
  {
    id: 'putty-private-key',
    description: 'PuTTY private key file',
    keywords: ['putty-user-key-file'],
    // header line, then header fields and base64 lines up to Private-Lines and its lines: each line bounded, no lazy scan
    regex: re('PuTTY-User-Key-File-[0-9]: [^\\r\\n]{1,64}\\r?\\n(?:[A-Za-z-]{1,24}: [^\\r\\n]{0,256}\\r?\\n|[A-Za-z0-9+/=]{1,128}\\r?\\n){0,64}Private-Lines: [0-9]{1,4}\\r?\\n(?:[A-Za-z0-9+/=]{1,128}\\r?\\n){1,200}'),
    noPlaceholderCheck: true,
  },
  {
    id: 'url-password',
    description: 'Password embedded in a URL (scheme://user:password@host)',
    keywords: ['://'],
    // Starts at the literal `://` with the scheme as a look-behind: a leading `[a-z]` would be tried at every letter of the text.
    regex: re(`://(?<=${B}[a-z][a-z0-9+.-]{1,20}://)[A-Za-z0-9._~%!$&'*+,;=-]{1,64}:([A-Za-z0-9._~%!$&'*+,;=-]{6,128})@[A-Za-z0-9.-]{1,253}`, 'i'),
    secretGroup: 1,
    entropy: 2.8,
    minClasses: 2,
    allow: [/^(?:pass(?:word)?|secret|pwd|changeme|admin|root|guest|user|postgres|mysql|redis|test)$/i],
  },
  // ---- the egress path only: a dump of the environment
  {
    id: 'env-dump',
    description: 'A KEY=value line whose name says secret, token, password or key (an environment or .env dump)',
    keywords: ['secret', 'token', 'pass', 'pwd', 'key', 'credential', 'auth'],
    regex: re(
      `^[ \t]*(?:export[ \t]+)?([A-Z][A-Z0-9_]{0,60}(?:SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|KEY|CREDENTIALS?|AUTH)[A-Z0-9_]{0,30})=(["']?)([^\\s"'\r\n]{6,512})\\2[ \t]*\r?$`,
      'm',
    ),
    secretGroup: 3,
    entropy: 2.5,
    generic: true,
    egressOnly: true,
    validate: (v) => !/^(?:\$\{|\$\(|\{\{|<|%\(|true$|false$|null$|none$|undefined$)/i.test(v),
  },
  {
    id: 'netrc-password',
    description: 'A password in a .netrc entry (machine HOST login USER password PASS)',
    keywords: ['password'],
    regex: re('(?:machine[ \\t\\r\\n]{1,8}[^\\s]{1,253}|default)(?:[ \\t\\r\\n]{1,8}login[ \\t\\r\\n]{1,8}[^\\s]{1,128})?[ \\t\\r\\n]{1,8}password[ \\t\\r\\n]{1,8}([^\\s]{6,256})'),
    secretGroup: 1,
    entropy: 2.5,
    generic: true,
    egressOnly: true,
  },
  {
    id: 'pgpass-password',
    description: 'A password in a .pgpass line (host:port:database:user:password)',
    // No word to look for (five fields, four colons): run on every text, which only the egress path does.
    keywords: [],
    regex: re('^[A-Za-z0-9.*_-]{1,253}:(?:[0-9]{1,5}|\\*):[^:\\s]{1,63}:[^:\\s]{1,63}:([^:\\s]{6,256})[ \\t]*\\r?$', 'm'),
    secretGroup: 1,
    entropy: 2.5,
    generic: true,
    egressOnly: true,
  },
  {
    id: 'delimited-secret',
    description: 'A high-entropy value after a secret-sounding name that starts a CSV, TSV or table cell (name,value)',
    keywords: ['pass', 'pwd', 'secret', 'key', 'token', 'credential'],
    regex: re(
      // The name found first (fast), then checked to start its cell: a look-behind from its end over the identifier.
      `(?:${GENERIC_NAMES})(?<=(?:^|[\\s"'|,;])[A-Za-z0-9_.-]{1,48})[A-Za-z0-9_.-]{0,24}["']?[ \\t]{0,8}[,\\t|;][ \\t]{0,8}["']?([A-Za-z0-9_+/=.~!@#$%^&*-]{12,200})["']?(?=[\\s,;|]|$)`,
      'i',
    ),
    secretGroup: 1,
    entropy: 3.0,
    minClasses: 2,
    generic: true,
    egressOnly: true,
    validate: (v) => !looksLikeIdentifier(v) && secretLikeValue(v),
    allow: GENERIC_ALLOW,
  },
  // ---- pack: financial (opt-in on egress routes)
  {
    id: 'card-number',
    description: 'Payment card number (issuer prefix and length of a card network, Luhn checksum)',
    keywords: [],
    regex: re('(?<![0-9A-Za-z.-])[2-6][0-9]{3}(?:[ -]?[0-9]{2,4}){2,4}(?:[ -]?[0-9]{1,4})?(?![0-9A-Za-z-])'),
    pack: 'financial',
    noPlaceholderCheck: true,
    structural: true,
    validate: cardNumber,
  },
  {
    id: 'iban',
    description: 'International bank account number (country format and mod-97 checksum)',
    keywords: [],
    regex: re('(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])'),
    pack: 'financial',
    noPlaceholderCheck: true,
    structural: true,
    validate: iban,
  },
  {
    id: 'crypto-wif-key',
    description: 'Bitcoin private key in wallet import format (Base58Check)',
    keywords: [],
    regex: re('(?<![1-9A-HJ-NP-Za-km-z])[5KL][1-9A-HJ-NP-Za-km-z]{50,51}(?![1-9A-HJ-NP-Za-km-z])'),
    pack: 'financial',
    noPlaceholderCheck: true,
    structural: true,
    validate: base58Check,
  },
  {
    id: 'crypto-extended-private-key',
    description: 'BIP-32 extended private key (xprv, tprv, yprv, zprv)',
    keywords: ['xprv', 'tprv', 'yprv', 'zprv'],
    regex: re('[xtyz]prv[1-9A-HJ-NP-Za-km-z]{100,112}'),
    pack: 'financial',
    noPlaceholderCheck: true,
  },
  {
    id: 'crypto-hex-private-key',
    description: 'Ethereum-style private key: 64 hex digits next to a wallet or private-key name',
    keywords: [],
    regex: re('(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{64}(?![0-9A-Za-z])'),
    pack: 'financial',
    entropy: 3.0,
    nearby: { pattern: /priv(?:ate)?[_ -]?key|wallet|secret[_ -]?key|signer|mnemonic|eth[_ -]?key|seed/i, window: 80 },
  },
  {
    id: 'crypto-seed-phrase',
    description: 'Wallet seed phrase: 12 to 24 BIP-39 English words in a row',
    keywords: [],
    regex: re('(?<![A-Za-z])(?:[a-z]{3,8}[ \\t,]{1,3}){11,23}[a-z]{3,8}(?![A-Za-z])', 'i'),
    pack: 'financial',
    noPlaceholderCheck: true,
    structural: true,
    validate: seedPhrase,
  },
  // ---- pack: pii (opt-in on egress routes)
  {
    id: 'us-ssn',
    description: 'US social security number (NNN-NN-NNNN, valid area, group and serial)',
    keywords: [],
    regex: re('(?<![0-9A-Za-z-])(?!000|666|9[0-9]{2})[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}(?![0-9A-Za-z-])'),
    pack: 'pii',
    noPlaceholderCheck: true,
  },
  // ---- generic: a high-entropy value assigned to a secret-sounding name
  {
    id: 'generic-secret',
    description: 'High-entropy value assigned to a name like password, secret, api_key, token',
    keywords: ['pass', 'pwd', 'secret', 'key', 'token', 'credential'],
    regex: re(
      `(?<!:)(?:${GENERIC_NAMES})[A-Za-z0-9_.-]{0,24}(?<!${NOT_A_SECRET_NAME})["']?[ \\t]{0,8}(?::{1,3}=|=>|\\|\\|=|\\?\\??=|=|:|>)[ \\t]{0,8}(?:\\([ \\t]{0,4})?(?:"([\\x21\\x23-\\x5b\\x5d-\\x7e]{8,200})"|'([\\x21-\\x26\\x28-\\x5b\\x5d-\\x7e]{8,200})'|\`([\\x21-\\x5b\\x5d-\\x5f\\x61-\\x7e]{8,200})\`|([A-Za-z0-9_+/=.~!@#$%^&*-]{8,200})(?=[\\s,;'"\`)}\\]<]|$))`,
      'i',
    ),
    secretGroup: [1, 2, 3, 4],
    entropy: 3.0,
    minClasses: 2,
    generic: true,
    // On code, 'key', 'token' and 'pass' are on one line in fifteen: its regex ran over the rest for nothing.
    lineLocal: true,
    validate: (v) => !looksLikeIdentifier(v) && secretLikeValue(v),
    allow: GENERIC_ALLOW,
  },
];
