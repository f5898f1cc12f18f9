/**
 * The shapes shared by the benchmark harness, its suites and the `aregula bench` command.
 *
 * The JSON shapes ({@link BenchReport}, {@link BenchRow}, {@link MachineInfo}) are a contract
 * that CI gates and report renderers read (see the project's design notes): add fields, never
 * rename or remove one.
 */

/** The machine a benchmark ran on, so that figures from different runs can be told apart. */
export interface MachineInfo {
  /** CPU model name as the OS reports it. */
  cpu: string;
  /** Logical cores available to this process. */
  cores: number;
  /** Total physical memory. */
  memoryBytes: number;
  /** Node version, e.g. `v20.20.2`. */
  node: string;
  /** `process.platform`, e.g. `linux`. */
  platform: string;
  /** `process.arch`, e.g. `x64`. */
  arch: string;
  /** `git rev-parse HEAD` of the checkout measured, or `unknown` outside a git checkout. */
  commit: string;
  /** When the run started, ISO 8601. */
  date: string;
}

/** Extra per-row fields a workload adds (units, batch sizes, recall, ...). */
export type RowFields = Record<string, string | number>;

/**
 * One workload measured on one system at one size.
 *
 * Besides the fields below, a row carries its workload's extra fields and, when peak memory
 * was measured (see reports/bench/rss.ts), `rss_peak_bytes`: the peak resident set size of a
 * child process that ran this system alone at this size (setup, one sample, teardown),
 * including Node, the suite's modules and the workload's input data (the same for every
 * system); and `rss_base_bytes`: that child's size when the system's case was created, the
 * floor every system shares; and, for a system that runs in processes of its own (the sqlite3
 * program), `rss_children_bytes`: the part of the peak those processes held. All are absent
 * with `--no-rss`, at a quick run's smaller sizes, and for a workload that says why not ({@link Workload.rssNotMeasured}).
 */
export interface BenchRow extends RowFields {
  /** `suite.name`, e.g. `lsm.put`. */
  workload: string;
  /** The system measured, e.g. `aregula`, `classic-level`, `map`. */
  system: string;
  /** Number of records (or operations) the workload was run with. */
  n: number;
  /** Operations per second derived from the median sample; the figure compared across systems. */
  ops_per_sec: number;
  /** Median over samples of the time per operation. */
  median_ms_per_op: number;
  /** Number of timed samples (warm-up samples are not counted). */
  samples: number;
  /** Operations one sample performed (the time of a sample divided by this is the time per op). */
  ops_per_sample: number;
}

/** What `aregula bench --json FILE` writes. */
export interface BenchReport {
  /** The suite run, or the suites when several were run in one invocation. */
  suite: string | string[];
  machine: MachineInfo;
  rows: BenchRow[];
}

/**
 * One system prepared for one workload at one size. The harness calls `setup` once, then for
 * every sample `beforeSample` (untimed), `sample` (timed) and `afterSample` (untimed), and
 * finally `teardown`, even when something failed.
 */
export interface BenchCase {
  /** Untimed preparation before the first sample (open a store, load data). */
  setup(): Promise<void>;
  /** Untimed preparation before each sample (e.g. a fresh empty store, a reopen). */
  beforeSample(): Promise<void>;
  /** The timed work: exactly `opsPerSample` operations. */
  sample(): Promise<void>;
  /** Untimed clean-up after each sample. */
  afterSample(): Promise<void>;
  /** Releases everything `setup` and the samples acquired (closes stores, deletes files). */
  teardown(): Promise<void>;
}

/** Where a case may keep files; the harness deletes the whole tree after the run. */
export interface CaseEnv {
  /** Returns a fresh, empty directory (absolute path) that nobody else uses. */
  freshDir(label: string): string;
}

/** A workload of a suite: one named measurement, run on every one of its systems. */
export interface Workload {
  /** `suite.name`, e.g. `lsm.get-cold`. */
  name: string;
  /** Systems this workload compares, in the order the table shows them. */
  systems: readonly string[];
  /** How many operations one sample performs at size `n`. */
  opsPerSample(n: number): number;
  /**
   * Extra fields for every row of this workload at size `n` (units, batch sizes). `system` is
   * the row's system, for fields measured per system (a recall reached, an `ef` chosen); a
   * `variant` string field tells apart the table lines of workloads that share a name.
   */
  fields(n: number, system: string): RowFields;
  /**
   * Why `system` is not measured at size `n`, or undefined when it is (optional: without it
   * every system runs at every size). The harness prints each reason as a note; a workload
   * that skips should also say so in its rows' fields, so the JSON tells it too.
   */
  skip?(system: string, n: number): string | undefined;
  /**
   * Why peak memory is not measured for this workload (optional: without it the harness runs
   * each system once more alone in a child process and reports its peak RSS). The harness puts
   * it in the rows' `rss_not_measured` field.
   */
  rssNotMeasured?: string;
  /** Prepares `system` for this workload at size `n`. */
  createCase(system: string, n: number, env: CaseEnv): BenchCase;
}

/** The result of {@link Suite.open}: what can be run on this machine right now. */
export interface OpenedSuite {
  /** The workloads, restricted to systems that are available. */
  workloads: Workload[];
  /** Human-readable notes on systems that were skipped and why. */
  notes: string[];
}

/** How sizes and sample counts are chosen for a run. */
export interface SuiteProfile {
  /** Sizes (`n`) to run when the user gives none. */
  sizes: readonly number[];
  /** Untimed samples per system before the timed ones. */
  warmupSamples: number;
  /** Untimed operations per system before the timed ones, at least (see `HarnessOptions.warmupOpsMin`). */
  warmupOpsMin?: number;
  /** Timed samples per system. */
  samples: number;
}

/** A named benchmark suite, registered in `reports/bench/registry.ts`. */
export interface Suite {
  /** Name used on the command line (`aregula bench lsm`) and as the workload prefix. */
  name: string;
  /** One line for `--help` and listings. */
  description: string;
  /** Every system the suite can measure (some may be unavailable on a given machine). */
  systems: readonly string[];
  /** Defaults for a full run. */
  full: SuiteProfile;
  /** Defaults for `--quick`: small sizes and few samples, the whole suite well under a minute. */
  quick: SuiteProfile;
  /** Loads the systems (some may be missing on this machine) and returns the workloads. */
  open(): Promise<OpenedSuite>;
}
