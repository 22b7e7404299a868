// The README as published: its hello world is the file CI runs, character for
// character, and its links work outside the repository (npm shows the README
// without the repository's other files).
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const readme = await readFile(new URL('README.md', root), 'utf8');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
}

describe('the README', () => {
  it('shows the hello world exactly as the file that the tests run', async () => {
    const block = /<!-- hello-world:start (\S+) -->\n\n```ts\n([\s\S]*?)```\n\n<!-- hello-world:end -->/.exec(
      readme,
    );
    expect(block, 'the hello-world block and its markers').not.toBeNull();
    const [, path = '', shown] = block ?? [];
    expect(shown).toBe(await readFile(new URL(path, root), 'utf8'));
  });

  it('links only to absolute URLs or to its own headings', () => {
    const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map(([, heading = '']) => slug(heading)));
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target = '']) => target);
    expect(targets.length).toBeGreaterThan(0);
    const broken = targets.filter((target) =>
      target.startsWith('#') ? !anchors.has(target.slice(1)) : !/^https:\/\//.test(target),
    );
    expect(broken).toEqual([]);
  });

  it('points its absolute links at the repository of package.json', async () => {
    const { repository } = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as {
      repository: { url: string };
    };
    const base = repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    const own = [...readme.matchAll(/\]\((https:\/\/github\.com\/[^)\s]+)\)/g)].map(([, url = '']) => url);
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((url) => !url.startsWith(`${base}/blob/main/`))).toEqual([]);
  });
});
