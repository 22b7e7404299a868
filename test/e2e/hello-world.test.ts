// The README's hello world, run as a user runs it: one process that serves,
// subscribes, is poked and refetches, then closes everything and exits.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the hello world', () => {
  it('is poked once the read view shows the change, refetches it, and exits by itself', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--conditions=pokegate-source', '--import', 'tsx', 'src/examples/hello-world/hello-world.ts'],
      // A process that leaves a socket or a timer open never exits: the timeout fails the test.
      { cwd: root, timeout: 60_000 },
    );
    expect(stdout.trim().split('\n')).toEqual([
      'shown after connected: null',
      'poke: n1 is at version 1',
      'shown after poke: {"id":"n1","text":"hello","version":1}',
    ]);
  }, 90_000);
});
