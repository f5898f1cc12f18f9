/**
 * The updates of the `merge.lww-map` workload, before any system encodes them: `n` field
 * updates of one map, made by {@link MERGE_DEVICES} devices, and the order in which a receiving
 * replica gets them.
 *
 * Update `i` is made by device `i mod DEVICES` and sets one of that device's own fields
 * (`d<device>.f<j>`) to the integer `i`. No two devices ever write the same field, so there
 * are no concurrent writes to one field: every system's merge rule (Aregula's HLC-then-author
 * LWW, Yjs's client-id order, Automerge's actor order) must end with the same map, the last
 * value each device wrote to each of its fields. That is what makes the untimed equality
 * check across the three systems meaningful; tie rules between concurrent writers differ
 * between the systems and are not compared here.
 *
 * Delivery: each device's updates are cut into messages of {@link MERGE_BATCH_UPDATES}
 * consecutive updates (Aregula's group commit: a range of its feed is verifiable only up to
 * a signature, so that is the unit its sync sends), and the receiver gets the messages of all
 * devices round-robin, each device's in order.
 */

import { assert } from '../../../engine/assert.ts';

/** Devices writing to the map. */
export const MERGE_DEVICES = 16;
/** Updates per message: one signed group of Aregula's feed (its default group commit). */
export const MERGE_BATCH_UPDATES = 64;
/** Most distinct fields in the map (fields are rewritten when there are more updates). */
export const MERGE_FIELDS_MAX = 1024;

/** One field update. */
export interface FieldUpdate {
  /** The writing device, 0..DEVICES-1. */
  device: number;
  /** The field set. */
  key: string;
  /** The value it is set to. */
  value: number;
}

/** A message as delivered: a run of one device's consecutive updates. */
export interface MessagePlan {
  device: number;
  /** Index of the message's first update within that device's updates. */
  from: number;
  /** Number of updates in the message. */
  count: number;
}

/** The updates of one size, per device, with the expected final map and the delivery order. */
export interface MergePlan {
  n: number;
  /** `perDevice[d]` are device `d`'s updates in the order it made them. */
  perDevice: FieldUpdate[][];
  /** The messages in delivery order. */
  messages: MessagePlan[];
  /** The map every replica must hold after applying everything, keys sorted. */
  expected: Record<string, number>;
}

/** Builds the plan for `n` updates. */
export function mergePlan(n: number): MergePlan {
  assert(Number.isSafeInteger(n), 'n must be an integer');
  assert(n >= 1, `n must be positive, got ${n}`);
  const fieldsPerDevice = Math.max(
    1,
    Math.floor(Math.min(MERGE_FIELDS_MAX, Math.ceil(n / 8)) / MERGE_DEVICES),
  );
  const perDevice: FieldUpdate[][] = Array.from({ length: MERGE_DEVICES }, () => []);
  const last = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const device = i % MERGE_DEVICES;
    const own = perDevice[device]!;
    const key = `d${device}.f${own.length % fieldsPerDevice}`;
    own.push({ device, key, value: i });
    last.set(key, i);
  }
  const expected: Record<string, number> = {};
  for (const key of [...last.keys()].sort()) expected[key] = last.get(key)!;
  return { n, perDevice, messages: deliveryOrder(perDevice), expected };
}

/** Round-robin over devices, one message of each in turn, each device's messages in order. */
function deliveryOrder(perDevice: readonly FieldUpdate[][]): MessagePlan[] {
  const messages: MessagePlan[] = [];
  const rounds = Math.ceil(Math.max(...perDevice.map((u) => u.length)) / MERGE_BATCH_UPDATES);
  for (let r = 0; r < rounds; r++) {
    for (let device = 0; device < perDevice.length; device++) {
      const from = r * MERGE_BATCH_UPDATES;
      const count = Math.min(MERGE_BATCH_UPDATES, perDevice[device]!.length - from);
      if (count > 0) messages.push({ device, from, count });
    }
  }
  return messages;
}

/** `map` with its keys sorted, for comparison with {@link MergePlan.expected}. */
export function sortedMap(map: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key];
  return out;
}
