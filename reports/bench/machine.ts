/**
 * A description of the machine a benchmark ran on, for the `machine` field of the bench JSON.
 */

import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';
import type { MachineInfo } from './types.ts';

/** The commit checked out in `cwd`, or `unknown` when git or the checkout is missing. */
export function gitCommit(cwd: string): string {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] });
    const commit = out.toString('utf8').trim();
    return /^[0-9a-f]{40,64}$/.test(commit) ? commit : 'unknown';
  } catch {
    // No git, or not a checkout (an unpacked tarball): the figure is still useful without it.
    return 'unknown';
  }
}

/** Describes this machine; `date` is when the run started, `repoDir` where to ask git. */
export function machineInfo(options: { date: Date; repoDir: string }): MachineInfo {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    commit: gitCommit(options.repoDir),
    date: options.date.toISOString(),
  };
}
