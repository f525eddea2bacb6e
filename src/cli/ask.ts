/** Terminal questions: a numbered picker and a hidden secret prompt, on stderr. */
import { createInterface } from 'node:readline';
import { BottleError } from '../index.js';

export async function pick(title: string, choices: readonly { value: string; label: string }[], opts: { multiple?: boolean } = {}): Promise<string[]> {
  if (!process.stdin.isTTY) throw new BottleError('usage', `${title}: no terminal to ask on`, { fix: 'name it on the command line (see --help)' });
  if (choices.length === 0) throw new BottleError('usage', `${title}: nothing to choose from`);
  process.stderr.write(`${title}\n`);
  choices.forEach((c, i) => process.stderr.write(`  ${i + 1}) ${c.label}\n`));
  const hint = opts.multiple ? 'numbers separated by spaces, in merge order' : 'a number';
  for (;;) {
    const answer = (await question(`choose ${hint}: `, false)).trim();
    const picked = answer.split(/[\s,]+/).filter(Boolean).map((n) => Number(n));
    if (picked.length > 0 && (opts.multiple || picked.length === 1) && picked.every((n) => Number.isInteger(n) && n >= 1 && n <= choices.length)) {
      return picked.map((n) => choices[n - 1].value);
    }
    process.stderr.write(`  please enter ${hint} between 1 and ${choices.length}\n`);
  }
}

export function askSecret(name: string, text: string): Promise<string> {
  if (!process.stdin.isTTY) {
    return Promise.reject(new BottleError('prompt-needed', `env.${name} needs a value typed at launch, and there is no terminal`, { fix: `forward it from the host with "\${${name}}"` }));
  }
  return question(`${text || name}: `, true);
}

function question(prompt: string, hidden: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    // The prompt reads the terminal raw, so Ctrl-C arrives here, not as a signal (without this, readline only paused
    // and the CLI ended with code 0).
    rl.on('SIGINT', () => {
      rl.close();
      process.stderr.write('^C\n');
      reject(new BottleError('interrupted', 'interrupted at the prompt; nothing was started'));
    });
    if (hidden) {
      // Echo nothing but the prompt itself.
      const out = rl as unknown as { _writeToOutput: (s: string) => void };
      out._writeToOutput = (s: string) => {
        if (s.startsWith(prompt)) process.stderr.write(prompt);
      };
    }
    rl.question(prompt, (answer) => {
      rl.close();
      if (hidden) process.stderr.write('\n');
      resolve(answer);
    });
  });
}
