/**
 * Decoy files: code and config in seven languages and formats whose lines give
 * secret-sounding names to values that are not secrets: paths, references to
 * secret stores, identifiers, human words, template placeholders, URLs without
 * credentials, environment look-ups. Written like the lines that made the
 * generic rule loud on real pushes (`const secretRef = "notifications/currency";`,
 * `secretPath := "kv/scheduler/cursor"`). Seeded: the same seed gives the same files.
 *
 * Every line is a decoy; any finding in these files is a false positive.
 */
import { Rng } from './corpus.js';

const WORDS = [
  'notifications', 'currency', 'scheduler', 'cursor', 'billing', 'invoices', 'payments', 'orders', 'catalog', 'inventory',
  'search', 'profile', 'accounts', 'sessions', 'webhooks', 'reports', 'analytics', 'audit', 'gateway', 'ledger',
  'shipping', 'tenants', 'metrics', 'exports', 'imports', 'checkout', 'pricing', 'discounts', 'mailer', 'uploads',
  'thumbnails', 'queue', 'worker', 'cron', 'settlement', 'refunds', 'identity', 'directory', 'onboarding', 'compliance',
];
const ENVS = ['prod', 'production', 'staging', 'dev', 'qa', 'sandbox', 'eu-west-1', 'us-east-1', 'internal'];
const NAMES_CAMEL = ['secretRef', 'secretPath', 'secretName', 'tokenUrl', 'tokenEndpoint', 'passwordField', 'apiKeyHeader', 'apiKeyName', 'secretKeyRef', 'tokenKey', 'accessKeyParam', 'privateKeyPath', 'credentialsFile', 'clientSecretName', 'signingKeyId', 'passwordResetRoute', 'tokenType', 'secretVersion', 'authTokenEnv', 'masterKeyAlias'];
const NAMES_SNAKE = ['secret_ref', 'secret_path', 'secret_name', 'token_url', 'password_field', 'api_key_header', 'api_key_env', 'secret_key_ref', 'token_key', 'access_key_param', 'private_key_path', 'credentials_file', 'client_secret_name', 'signing_key_id', 'password_reset_route', 'token_type', 'secret_version', 'auth_token_env', 'master_key_alias', 'encryption_key_arn'];
const NAMES_UPPER = NAMES_SNAKE.map((n) => n.toUpperCase());

/** Values that are not secrets, by kind. */
function value(r: Rng, kind: number): string {
  const w = () => r.pick(WORDS);
  const e = () => r.pick(ENVS);
  switch (kind % 16) {
    case 0: return `${w()}/${w()}`;
    case 1: return `kv/${w()}/${w()}`;
    case 2: return `secret/data/${e()}/${w()}`;
    case 3: return `arn:aws:secretsmanager:us-east-1:${r.chars('0123456789', 12)}:secret:${e()}/${w()}-${r.chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 6)}`;
    case 4: return `projects/${w()}-${e()}/secrets/${w()}-${w()}/versions/latest`;
    case 5: return `op://${e()}/${w()}/credential`;
    case 6: return `${w()}-${w()}-${e()}`;
    case 7: return `${w()}_${w()}_secret`;
    case 8: return `https://auth.${w()}.example.com/oauth/token`;
    case 9: return `/var/run/secrets/${w()}/${w()}`;
    case 10: return `\${${w().toUpperCase()}_TOKEN}`;
    case 11: return `{{ .Values.${w()}.${w()}Secret }}`;
    case 12: return `${w()}.${w()}.v${r.int(1, 3)}`;
    case 13: return `X-${w()[0].toUpperCase()}${w().slice(1)}-Token`;
    case 14: return `vault://${w()}/${e()}#password`;
    default: return `${w()}${w()[0].toUpperCase()}${w().slice(1)}Key`;
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

function tsFile(r: Rng, n: number): string {
  const lines = [`// ${r.pick(WORDS)} service configuration`, `import { config } from './config';`, ''];
  for (let i = 0; i < n; i++) {
    const name = r.pick(NAMES_CAMEL);
    const v = value(r, r.int(0, 15));
    switch (r.int(0, 4)) {
      case 0: lines.push(`const ${name}${pad(i)} = "${v}";`); break;
      case 1: lines.push(`export const ${name}${pad(i)}: string = '${v}';`); break;
      case 2: lines.push(`  ${name}: \`${v}\`,`); break;
      case 3: lines.push(`const ${name}${pad(i)} = process.env.${r.pick(NAMES_UPPER)} ?? "${v}";`); break;
      default: lines.push(`this.${name} = config.get<string>("${v}");`);
    }
  }
  return lines.join('\n') + '\n';
}

function pyFile(r: Rng, n: number): string {
  const lines = [`"""${r.pick(WORDS)} settings."""`, 'import os', ''];
  for (let i = 0; i < n; i++) {
    const name = r.pick(NAMES_SNAKE);
    const v = value(r, r.int(0, 15));
    switch (r.int(0, 3)) {
      case 0: lines.push(`${name.toUpperCase()} = "${v}"`); break;
      case 1: lines.push(`${name} = os.environ.get("${r.pick(NAMES_UPPER)}", "${v}")`); break;
      case 2: lines.push(`    ${name}: str = '${v}'`); break;
      default: lines.push(`settings["${name}"] = "${v}"`);
    }
  }
  return lines.join('\n') + '\n';
}

function goFile(r: Rng, n: number): string {
  const lines = ['package config', '', 'import "os"', '', 'func load() {'];
  for (let i = 0; i < n; i++) {
    const name = r.pick(NAMES_CAMEL);
    const v = value(r, r.int(0, 15));
    switch (r.int(0, 2)) {
      case 0: lines.push(`\t${name}${pad(i)} := "${v}"`); break;
      case 1: lines.push(`\tvar ${name}${pad(i)} = \`${v}\``); break;
      default: lines.push(`\t${name}${pad(i)} := os.Getenv("${r.pick(NAMES_UPPER)}")`);
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function k8sFile(r: Rng, n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n / 8; i++) {
    const app = `${r.pick(WORDS)}-${r.pick(ENVS)}`;
    lines.push(
      '---', 'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', `  name: ${app}`, 'spec:', '  template:', '    spec:', '      containers:',
      `        - name: ${app}`, '          env:', `            - name: ${r.pick(NAMES_UPPER)}`, '              valueFrom:', '                secretKeyRef:',
      `                  name: ${app}-secrets`, `                  key: ${r.pick(NAMES_SNAKE).replace(/_/g, '-')}`, '      volumes:', '        - name: creds', '          secret:',
      `            secretName: ${r.pick(WORDS)}-${r.pick(WORDS)}-tls`, `      serviceAccountName: ${app}`,
      `      # token: ${value(r, r.int(0, 15))}`, `      annotations:`, `        vault.hashicorp.com/agent-inject-secret-${r.pick(WORDS)}: "${value(r, 2)}"`,
    );
  }
  return lines.join('\n') + '\n';
}

function tfFile(r: Rng, n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n / 6; i++) {
    const w = r.pick(WORDS);
    lines.push(
      `variable "${r.pick(NAMES_SNAKE)}_${i}" {`, '  type      = string', '  sensitive = true', `  default   = "${value(r, r.int(0, 15))}"`, '}', '',
      `resource "aws_db_instance" "${w}" {`, `  password = var.db_password`, `  master_password_secret_kms_key_id = aws_kms_key.${w}.key_id`, `  secret_arn = data.aws_secretsmanager_secret_version.${w}.arn`, '}', '',
    );
  }
  return lines.join('\n') + '\n';
}

function envExample(r: Rng, n: number): string {
  const lines = ['# Copy to .env and fill in the values from the team vault', ''];
  const placeholders = ['', 'changeme', 'your-api-key-here', '<paste token>', 'xxxxxxxxxxxxxxxx', '${VAULT_TOKEN}', 'replace_me', 'TODO', 'sk_test_...', 'see-1password', 'ask-ops-team', 'notifications/currency'];
  for (let i = 0; i < n; i++) {
    const name = r.pick(NAMES_UPPER);
    lines.push(r.next() < 0.5 ? `${name}_${i}=${r.pick(placeholders)}` : `${name}_${i}=${value(r, r.int(0, 15))}`);
  }
  return lines.join('\n') + '\n';
}

function markdown(r: Rng, n: number): string {
  const lines = [`# ${r.pick(WORDS)} service`, '', '## Configuration', ''];
  for (let i = 0; i < n; i++) {
    const name = r.pick(NAMES_UPPER);
    switch (r.int(0, 3)) {
      case 0: lines.push(`- \`${name}\`: the secret's path in Vault, e.g. \`${value(r, 1)}\`.`); break;
      case 1: lines.push(`Set \`${r.pick(NAMES_SNAKE)}: ${value(r, r.int(0, 15))}\` in \`values.yaml\`.`); break;
      case 2: lines.push('```sh', `export ${name}="$(vault kv get -field=token ${value(r, 1)})"`, '```'); break;
      default: lines.push(`| \`${r.pick(NAMES_CAMEL)}\` | \`${value(r, r.int(0, 15))}\` | where the token is read from |`);
    }
  }
  return lines.join('\n') + '\n';
}

export interface DecoyFile {
  readonly path: string;
  readonly text: string;
  readonly lang: string;
}

/** `perLang` files of ~`lines` lines in each of TS, Python, Go, Kubernetes YAML, Terraform, .env.example and Markdown. */
export function decoyFiles(seed = 'bot-bottle-decoys-1', perLang = 4, lines = 120): DecoyFile[] {
  const r = new Rng(seed);
  const out: DecoyFile[] = [];
  const kinds: [string, string, (r: Rng, n: number) => string][] = [
    ['ts', 'src/services/{w}/config.ts', tsFile],
    ['python', 'app/{w}/settings.py', pyFile],
    ['go', 'internal/{w}/config.go', goFile],
    ['k8s-yaml', 'deploy/{w}/deployment.yaml', k8sFile],
    ['terraform', 'infra/{w}/main.tf', tfFile],
    ['env-example', 'services/{w}/.env.example', envExample],
    ['markdown', 'docs/{w}.md', markdown],
  ];
  for (const [lang, path, make] of kinds) {
    for (let i = 0; i < perLang; i++) out.push({ lang, path: path.replace('{w}', `${r.pick(WORDS)}${i}`), text: make(r, lines) });
  }
  return out;
}
