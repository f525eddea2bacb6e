/** Where sidecars' code, state and secrets live inside the sidecar bundle (every backend). */
export const BUNDLE_CODE_DIR = '/opt/bot-bottle';
export const BUNDLE_RUN_DIR = '/run/bot-bottle';
export const BUNDLE_SECRETS_DIR = '/tmp/secrets';
