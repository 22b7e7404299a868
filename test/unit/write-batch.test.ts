import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createWriteBatch } from '../../src/graphql/write-batch.js';

/** A stream that records each write it makes: one entry per `_write` or `_writev`. */
function recordingStream(): { stream: Duplex; writes: string[][] } {
  const writes: string[][] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      writes.push([chunk.toString()]);
      callback();
    },
    writev(chunks, callback) {
      writes.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      callback();
    },
  });
  return { stream, writes };
}

/** Holds `stream` for one frame and writes it, as a direct send does. */
function send(hold: (stream: Duplex) => void, stream: Duplex, frame: string): void {
  hold(stream);
  stream.write(frame);
}

const nextRun = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('createWriteBatch', () => {
  it("writes the first sockets' first frame of a run at once, every other frame once the run is over", async () => {
    const { hold } = createWriteBatch(2);
    const [one, two, three] = [recordingStream(), recordingStream(), recordingStream()];
    send(hold, one.stream, '1a');
    send(hold, two.stream, '2a');
    send(hold, three.stream, '3a');
    send(hold, one.stream, '1b');
    send(hold, one.stream, '1c');
    send(hold, three.stream, '3b');
    expect([one.writes, two.writes, three.writes]).toEqual([[['1a']], [['2a']], []]);
    await Promise.resolve();
    expect([one.writes, two.writes, three.writes]).toEqual([
      [['1a'], ['1b', '1c']],
      [['2a']],
      [['3a', '3b']],
    ]);
    for (const { stream } of [one, two, three]) expect(stream.writableCorked).toBe(0);
  });

  it('starts over in the next run', async () => {
    const { hold } = createWriteBatch(1);
    const [one, two] = [recordingStream(), recordingStream()];
    send(hold, one.stream, '1a');
    send(hold, two.stream, '2a');
    expect(two.writes).toEqual([]);
    await nextRun();
    send(hold, two.stream, '2b');
    expect(two.writes).toEqual([['2a'], ['2b']]);
    send(hold, one.stream, '1b');
    expect(one.writes).toEqual([['1a']]);
    await nextRun();
    expect(one.writes).toEqual([['1a'], ['1b']]);
    expect(one.stream.writableCorked + two.stream.writableCorked).toBe(0);
  });

  it('holds every frame with no immediate socket, so one fan-out leaves in one write per socket', async () => {
    const { hold } = createWriteBatch(0);
    const one = recordingStream();
    send(hold, one.stream, 'a');
    send(hold, one.stream, 'b');
    expect(one.writes).toEqual([]);
    await Promise.resolve();
    expect(one.writes).toEqual([['a', 'b']]);
  });
});
