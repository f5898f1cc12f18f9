import { describe, expect, it } from 'vitest';
import { BarProgress, LineProgress } from './progress.ts';

describe('LineProgress', () => {
  it('writes one line per group with the samples done so far, notes, and a final count', () => {
    let text = '';
    const progress = new LineProgress({ write: (t) => (text += t) });
    progress.start(4);
    progress.group('lsm.put n=10', ['a', 'b']);
    progress.sampleDone();
    progress.sampleDone();
    progress.note('a note');
    progress.group('lsm.scan n=10', ['a', 'b']);
    progress.sampleDone();
    progress.sampleDone();
    progress.stop();
    expect(text).toBe(
      'bench: lsm.put n=10 [a, b] (0/4 samples done)\n' +
        'a note\n' +
        'bench: lsm.scan n=10 [a, b] (2/4 samples done)\n' +
        'bench: 4/4 samples done\n',
    );
  });

  it('counts on across the suites of one run (one start per suite)', () => {
    let text = '';
    const progress = new LineProgress({ write: (t) => (text += t) });
    progress.start(1);
    progress.group('lsm.put n=10', ['a']);
    progress.sampleDone();
    progress.stop();
    progress.start(2);
    progress.group('merge.lww-map n=10', ['a', 'b']);
    progress.sampleDone();
    progress.sampleDone();
    progress.stop();
    expect(text).toBe(
      'bench: lsm.put n=10 [a] (0/1 samples done)\n' +
        'bench: 1/1 samples done\n' +
        'bench: merge.lww-map n=10 [a, b] (1/3 samples done)\n' +
        'bench: 3/3 samples done\n',
    );
  });

  it('prints no final count when nothing ran', () => {
    let text = '';
    const progress = new LineProgress({ write: (t) => (text += t) });
    progress.start(0);
    progress.stop();
    expect(text).toBe('');
  });
});

describe('BarProgress', () => {
  it('writes notes given before the bar starts as plain lines, and tolerates events out of order', () => {
    let text = '';
    const fake = {
      isTTY: false,
      write(t: string): boolean {
        text += t;
        return true;
      },
    };
    const stream = fake as unknown as NodeJS.WriteStream;
    const progress = new BarProgress(stream);
    progress.note('before the bar');
    progress.group('ignored', []);
    progress.sampleDone();
    progress.stop();
    progress.stop();
    expect(text).toBe('before the bar\n');
  });
});
