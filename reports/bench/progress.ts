/**
 * Progress output for a benchmark run: a live bar on a terminal, plain lines elsewhere, so that
 * CI logs stay readable (a redrawn bar turns into thousands of carriage returns in a log file).
 * Progress goes to stderr so that stdout carries only the results table.
 */

import { Presets, SingleBar } from 'cli-progress';

/** Receives progress events from the harness. */
export interface Progress {
  /** Called once with the total number of samples (warm-up included) the run will take. */
  start(totalSamples: number): void;
  /** A workload at one size begins; `systems` are measured in alternation. */
  group(label: string, systems: readonly string[]): void;
  /** One sample (warm-up or timed) finished. */
  sampleDone(): void;
  /** A note for the user (a skipped system, a warning). */
  note(line: string): void;
  /** The run ended (successfully or not); release the terminal. */
  stop(): void;
}

/** Something lines can be written to (stderr, or a test's buffer). */
export interface LineSink {
  write(text: string): unknown;
}

/** A progress bar for an interactive terminal. */
export class BarProgress implements Progress {
  private readonly bar: SingleBar;
  private running = false;

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.bar = new SingleBar(
      {
        stream,
        format: '{bar} {percentage}% | {value}/{total} samples | {label}',
        hideCursor: true,
        clearOnComplete: true,
      },
      Presets.shades_classic,
    );
  }

  start(totalSamples: number): void {
    this.running = true;
    this.bar.start(totalSamples, 0, { label: '' });
  }

  group(label: string, _systems: readonly string[]): void {
    if (this.running) this.bar.update({ label });
  }

  sampleDone(): void {
    if (this.running) this.bar.increment();
  }

  note(line: string): void {
    if (!this.running) {
      this.stream.write(`${line}\n`);
      return;
    }
    // Writing above a live bar garbles it; cli-progress has no log method, so stop, write, go on.
    const total = this.bar.getTotal();
    const value = Math.round(this.bar.getProgress() * total);
    this.bar.stop();
    this.stream.write(`${line}\n`);
    this.bar.start(total, value, { label: '' });
  }

  stop(): void {
    if (this.running) this.bar.stop();
    this.running = false;
  }
}

/** Plain progress lines, one per workload and size, for logs and pipes. */
export class LineProgress implements Progress {
  private groups = 0;
  private done = 0;
  private total = 0;

  constructor(private readonly sink: LineSink) {}

  start(totalSamples: number): void {
    // One start per suite in a run of several: the counts run on across them.
    this.total += totalSamples;
  }

  group(label: string, systems: readonly string[]): void {
    this.groups += 1;
    this.sink.write(`bench: ${label} [${systems.join(', ')}] (${this.done}/${this.total} samples done)\n`);
  }

  sampleDone(): void {
    this.done += 1;
  }

  note(line: string): void {
    this.sink.write(`${line}\n`);
  }

  stop(): void {
    if (this.groups > 0) this.sink.write(`bench: ${this.done}/${this.total} samples done\n`);
  }
}

/** Progress that prints nothing (tests, `--json` runs that want silence). */
export class SilentProgress implements Progress {
  start(_totalSamples: number): void {}
  group(_label: string, _systems: readonly string[]): void {}
  sampleDone(): void {}
  note(_line: string): void {}
  stop(): void {}
}
