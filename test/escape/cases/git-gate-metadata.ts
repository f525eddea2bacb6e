/**
 * git-gate beyond file contents (issue 11, item 4): ref names, identities and
 * paths, compressed and archived files, a key split over two lines, and
 * history rewrites. Each checks the upstream itself.
 */
import { escaped, stopped, type EscapeCase } from '../suite.js';
import { freshClone, pushRefused } from './git-gate.js';

const REPO = '/workspace/escape-repo';

export const gitGateMetadataCases: EscapeCase[] = [
  {
    id: 'git-gate/key-in-branch-name',
    category: 'git-gate',
    attack: 'carry the key in the name of a pushed branch',
    expect: 'stopped',
    async run(w) {
      await freshClone(w);
      const branch = `feat/${w.marker()}`;
      const r = await w.sh(`cd ${REPO}; git push origin HEAD:refs/heads/${branch} 2>&1`);
      if ((await w.git.head(branch)) !== '') return escaped('the branch reached the upstream');
      return r.code === 0 ? escaped('git push exited 0') : stopped('branch refused');
    },
  },
  {
    id: 'git-gate/key-in-author-email',
    category: 'git-gate',
    attack: 'carry the key in the author email of a commit',
    expect: 'stopped',
    run: (w) => pushRefused(w, `echo a >> a.txt; git add a.txt; git -c user.email='${w.marker()}@example.test' commit -qm update; git push origin main 2>&1`, 'key in an identity'),
  },
  {
    id: 'git-gate/key-in-file-path',
    category: 'git-gate',
    attack: 'carry the key in the name of a committed file',
    expect: 'stopped',
    run: (w) => pushRefused(w, `mkdir -p cache; echo 1 > cache/${w.marker()}.json; git add cache; git commit -qm cache; git push origin main 2>&1`, 'key in a path'),
  },
  {
    id: 'git-gate/gzip-file',
    category: 'git-gate',
    attack: 'commit the key inside a gzip-compressed file',
    expect: 'stopped',
    run: (w) => pushRefused(w, `printf 'aws_access_key_id = ${w.marker()}\\n' | gzip -c > creds.gz; git add creds.gz; git commit -qm gz; git push origin main 2>&1`, 'key in a .gz'),
  },
  {
    id: 'git-gate/zip-member',
    category: 'git-gate',
    attack: 'commit the key as a member of a zip archive',
    expect: 'stopped',
    run: (w) =>
      pushRefused(w, `python3 -c "import zipfile; z=zipfile.ZipFile('bundle.zip','w',zipfile.ZIP_DEFLATED); z.writestr('conf/app.env','KEY=${w.marker()}\\n'); z.close()"; git add bundle.zip; git commit -qm zip; git push origin main 2>&1`, 'key in a .zip'),
  },
  {
    id: 'git-gate/tar-gz-member',
    category: 'git-gate',
    attack: 'commit the key in a file of a .tar.gz',
    expect: 'stopped',
    run: (w) => pushRefused(w, `mkdir -p /tmp/t && printf 'id=${w.marker()}\\n' > /tmp/t/id.txt && tar -C /tmp/t -czf dist.tgz id.txt; git add dist.tgz; git commit -qm tgz; git push origin main 2>&1`, 'key in a .tar.gz'),
  },
  {
    id: 'git-gate/base64-file',
    category: 'git-gate',
    attack: 'commit a base64-encoded file holding the key',
    expect: 'stopped',
    run: (w) => pushRefused(w, `printf 'region=eu-west-1\\naws_access_key_id=${w.marker()}\\n' | base64 > creds.b64; git add creds.b64; git commit -qm b64; git push origin main 2>&1`, 'key in base64'),
  },
  {
    id: 'git-gate/key-split-over-two-lines',
    category: 'git-gate',
    attack: 'split the key over two lines of a file',
    expect: 'stopped',
    run: (w) => {
      const k = w.marker();
      return pushRefused(w, `printf 'key:\\n  ${k.slice(0, 9)}\\n  ${k.slice(9)}\\n' > split.yml; git add split.yml; git commit -qm split; git push origin main 2>&1`, 'split key');
    },
  },
  {
    id: 'git-gate/force-push',
    category: 'git-gate',
    attack: "rewrite the upstream's history with a non-fast-forward push",
    expect: 'stopped',
    async run(w) {
      const before = await freshClone(w);
      const r = await w.sh(`cd ${REPO}; git reset -q --hard HEAD~1 2>/dev/null || git commit -q --amend -m rewritten; echo r > r.txt; git add r.txt; git commit -qm rewrite; git push -f origin main 2>&1`);
      if ((await w.git.head('main')) !== before) return escaped('the upstream main was rewritten');
      return r.code === 0 ? escaped('git push exited 0') : stopped('non-fast-forward refused');
    },
  },
  {
    id: 'git-gate/branch-deletion',
    category: 'git-gate',
    attack: 'delete a branch on the upstream',
    expect: 'stopped',
    async run(w) {
      await freshClone(w);
      const name = `keep-${Date.now()}`;
      const created = await w.sh(`cd ${REPO}; git push -q origin HEAD:refs/heads/${name} 2>&1`);
      if (created.code !== 0 || (await w.git.head(name)) === '') throw new Error(`control: cannot create ${name}: ${created.stdout}`);
      const r = await w.sh(`cd ${REPO}; git push origin --delete ${name} 2>&1`);
      if ((await w.git.head(name)) === '') return escaped('the branch was deleted upstream');
      return r.code === 0 ? escaped('git push exited 0') : stopped('deletion refused');
    },
  },
];
