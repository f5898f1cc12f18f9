/**
 * A peer's wall clock on virtual time: the {@link Clock} seam as a simulated device sees it.
 *
 * Faults it injects, and why the engine must survive them:
 * - Offset: devices disagree about the time by seconds or hours (no NTP, wrong time zone
 *   handling, a dead RTC battery on a Pi). Hybrid logical clocks must still order causally
 *   related writes and last-writer-wins must still converge.
 * - Drift: a cheap crystal runs fast or slow by tens to hundreds of ppm, so skew grows over
 *   a long run. The HLC drift bound must hold or be enforced rather than assumed.
 * - Jumps, forward and backward: a laptop wakes from sleep, NTP steps the clock, a user sets
 *   it by hand. Wall time is not monotonic, so nothing may derive ordering, expiry or
 *   uniqueness from it alone.
 *
 * Reading: `floor(epochMs + offsetMs + jumps + elapsed')`, where `elapsed'` is the scheduler's
 * virtual time scaled by `1 + driftPpm / 1e6`, computed so that integer settings give exactly
 * the floor of the real value (no float rounding across an integer boundary). Changing the drift is continuous: the reading
 * does not jump at the change, only its rate changes from then on.
 */

import { InvalidArgumentError } from '../engine/errors.ts';
import type { Clock } from '../engine/io/clock.ts';
import { type ActionGate, gated } from './actions.ts';
import type { Scheduler } from './scheduler.ts';

/** Default wall time at virtual time 0: 2023-11-14T22:13:20Z, a fixed, recent instant. */
export const DEFAULT_EPOCH_MS = 1_700_000_000_000;
/** Largest drift accepted, in ppm either way. Real crystals are within a few hundred. */
export const DRIFT_PPM_MAX = 100_000;

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** Wall time at virtual time 0. Default {@link DEFAULT_EPOCH_MS}. */
  epochMs?: number;
  /** This device's constant error, added to the epoch. Default 0. */
  offsetMs?: number;
  /** Rate error in parts per million (positive runs fast). Default 0. */
  driftPpm?: number;
  /** Names the device in trace notes of jumps and drift changes. Default `clock`. */
  name?: string;
  /** Records jumps and drift changes as actions of a run, and may leave them out (sim/actions.ts). */
  gate?: ActionGate;
}

function checkFinite(what: string, value: number): void {
  if (!Number.isFinite(value)) throw new InvalidArgumentError(`${what} must be finite, got ${value}`);
}

function checkDrift(ppm: number): void {
  checkFinite('driftPpm', ppm);
  if (Math.abs(ppm) > DRIFT_PPM_MAX) {
    throw new InvalidArgumentError(`driftPpm ${ppm} exceeds +/-${DRIFT_PPM_MAX}`);
  }
}

/** A device's wall clock: offset, drift and jumps over a scheduler's virtual time. */
export class VirtualClock implements Clock {
  private readonly scheduler: Scheduler;
  private readonly name: string;
  private readonly gate: ActionGate | undefined;
  /** epochMs + offsetMs + every jump so far. */
  private baseMs: number;
  private driftPpm: number;
  /**
   * Virtual time of the last drift change, and the drifted elapsed time accrued before it.
   * Both start at 0: a clock built mid-run reads as if it had run since the world began.
   */
  private driftSinceMs = 0;
  private driftedBeforeMs = 0;

  constructor(scheduler: Scheduler, options: VirtualClockOptions = {}) {
    const epochMs = options.epochMs ?? DEFAULT_EPOCH_MS;
    const offsetMs = options.offsetMs ?? 0;
    const driftPpm = options.driftPpm ?? 0;
    checkFinite('epochMs', epochMs);
    checkFinite('offsetMs', offsetMs);
    checkDrift(driftPpm);
    this.scheduler = scheduler;
    this.name = options.name ?? 'clock';
    this.gate = options.gate;
    this.baseMs = epochMs + offsetMs;
    this.driftPpm = driftPpm;
  }

  /** Milliseconds since the Unix epoch as this device believes it to be. May go backwards after a jump. */
  nowMs(): number {
    // Flooring the whole part separately keeps the result exact for integer settings: adding
    // a small drifted elapsed time to a 1.7e12 epoch would round away its fraction first.
    const wholeMs = Math.floor(this.baseMs);
    return wholeMs + Math.floor(this.baseMs - wholeMs + this.driftedElapsedMs());
  }

  /** Steps the clock by `deltaMs` (negative steps it back), as a waking laptop or NTP would. */
  jump(deltaMs: number): void {
    checkFinite('jump deltaMs', deltaMs);
    gated(this.gate, { kind: 'clock-jump', peer: this.name, detail: { deltaMs } }, () => {
      this.baseMs += deltaMs;
      this.scheduler.note(`clock ${this.name} jump ${deltaMs}`);
    });
  }

  /** Changes the rate error from now on; the reading itself does not jump. */
  setDrift(ppm: number): void {
    checkDrift(ppm);
    gated(this.gate, { kind: 'clock-drift', peer: this.name, detail: { ppm } }, () => {
      this.driftedBeforeMs = this.driftedElapsedMs();
      this.driftSinceMs = this.scheduler.nowMs;
      this.driftPpm = ppm;
      this.scheduler.note(`clock ${this.name} drift ${ppm}ppm`);
    });
  }

  private driftedElapsedMs(): number {
    const sinceMs = this.scheduler.nowMs - this.driftSinceMs;
    return this.driftedBeforeMs + sinceMs + (sinceMs * this.driftPpm) / 1e6;
  }
}
