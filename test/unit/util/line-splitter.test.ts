import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteLineSplitter } from '../../../src/util/byte-line-splitter';
import { LineSplitter } from '../../../src/util/line-splitter';

function feed(chunks: Array<string | Buffer>, maxLine?: number) {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l), maxLine);
  return new Promise<{ lines: string[]; overlong: number }>((resolve) => {
    for (const c of chunks) s.write(c);
    s.end(() => resolve({ lines, overlong: s.overlong }));
  });
}

describe('LineSplitter', () => {
  it('joins lines across chunks and keeps a last line without newline', async () => {
    const { lines } = await feed(['a b\nc', 'd\n', '\ne', 'f']);
    assert.deepEqual(lines, ['a b', 'cd', '', 'ef']);
  });

  it('decodes UTF-8 split inside a character', async () => {
    const bytes = Buffer.from('来源\n');
    const { lines } = await feed([bytes.subarray(0, 2), bytes.subarray(2)]);
    assert.deepEqual(lines, ['来源']);
  });

  it('drops and counts lines over the cap, without buffering them', async () => {
    const { lines, overlong } = await feed(['x'.repeat(50), 'y'.repeat(50), '\nok\n', 'z'.repeat(30), '\n'], 20);
    assert.deepEqual(lines, ['ok']);
    assert.equal(overlong, 2);
  });
});

describe('ByteLineSplitter', () => {
  function feedBytes(chunks: Buffer[], maxLine?: number) {
    const lines: string[] = [];
    const s = new ByteLineSplitter((b, start, end) => lines.push(b.toString('utf8', start, end)), maxLine);
    return new Promise<{ lines: string[]; overlong: number }>((resolve) => {
      for (const c of chunks) s.write(c);
      s.end(() => resolve({ lines, overlong: s.overlong }));
    });
  }

  it('gives the same lines as LineSplitter for any chunking', async () => {
    const text = 'a b\ncd\n\n来源 x\nlast';
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (const cut2 of [cut, Math.min(bytes.length, cut + 3)]) {
        const { lines } = await feedBytes([bytes.subarray(0, cut), bytes.subarray(cut, cut2), bytes.subarray(cut2)]);
        assert.deepEqual(lines, ['a b', 'cd', '', '来源 x', 'last'], `cut at ${cut}/${cut2}`);
      }
    }
  });

  it('drops and counts lines over the cap, also across chunks', async () => {
    const { lines, overlong } = await feedBytes(
      [
        Buffer.from('x'.repeat(15)),
        Buffer.from('y'.repeat(15)),
        Buffer.from('\nok\n'),
        Buffer.from(`${'z'.repeat(30)}\nend\n`),
      ],
      20,
    );
    assert.deepEqual(lines, ['ok', 'end']);
    assert.equal(overlong, 2);
  });
  it('with a bulk handler: every line once, in order, whichever of the two takes it, for any chunking', async () => {
    // The bulk handler takes whole lines that start with "b" (finding each end itself) and stops at any other.
    const text = 'b1\nb2\nx3\nb4\n\nb6\nx7\nb8\nlast';
    const bytes = Buffer.from(text);
    const want = ['b1', 'b2', 'x3', 'b4', '', 'b6', 'x7', 'b8', 'last'];
    for (let cut = 0; cut <= bytes.length; cut++) {
      const got: string[] = [];
      const bulkTook: string[] = [];
      const s = new ByteLineSplitter(
        (b, start, end) => got.push(b.toString('utf8', start, end)),
        64,
        (b, start) => {
          // What it is given ends with a newline: the unfinished last line of a chunk is never in it.
          assert.equal(b[b.length - 1], 10);
          let at = start;
          while (at < b.length && b[at] === 98) {
            const nl = b.indexOf(10, at);
            got.push(b.toString('utf8', at, nl));
            bulkTook.push(b.toString('utf8', at, nl));
            at = nl + 1;
          }
          return at;
        },
      );
      await new Promise<void>((resolve) => {
        s.write(bytes.subarray(0, cut));
        s.write(bytes.subarray(cut));
        s.end(() => resolve());
      });
      assert.deepEqual(got, want, `cut at ${cut}`);
      assert.ok(bulkTook.length > 0, `the bulk handler took lines (cut at ${cut})`);
    }
  });
});
