/**
 * Secret scanning: one engine for the egress proxy's DLP (request bodies), the
 * git-gate (pushed commits) and `bot-bottle scan` (any repository).
 *
 * ```ts
 * scanText('aws_key = AKIA…')  // [{ rule: 'aws-access-key-id', start, end, match, redacted: 'AKIA************WXYZ' }]
 * ```
 */
export { scanText, knownForms, MIN_KNOWN_SECRET, type SecretFinding, type ScanOptions, type ScanMode } from './scan.js';
export { KnownSecrets, NO_KNOWN, knownSecretForms, type KnownForm } from './known.js';
export { scanBytes } from './bytes.js';
export { redact } from './redact.js';
export { RULES, RULE_PACKS, type Rule, type RulePack } from './rules.js';
export { isBinary, binaryStrings, inflateRawSniff, inflateSniff } from './decoders.js';
export { scanRange, unquoteGitPath, type GitFinding, type GitRange, type GitScanOptions } from './git.js';
export { inboundFindings, inboundWarnings, type InboundFinding } from './inbound.js';
