/**
 * @module y-leveldb 0.2's key layout and value formats, so a data directory written through
 * y-leveldb (every convosync before group commit) opens unchanged, and y-leveldb can still read
 * what this store writes. The keys are encoded by y-leveldb's own exported `keyEncoding`:
 *   ['v1', doc, 'update', clock]  one stored update; clocks count up from 0 per document
 *   ['v1', doc, 'meta', key]      a value encoded with lib0's encodeAny
 *   ['v1_sv', doc]                varUint clock, varUint8Array state vector (valid at that clock)
 */
import * as buffer from 'lib0/buffer';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { keyEncoding } from 'y-leveldb';

/** y-leveldb's upper bound for update clocks (binary.BITS32). */
const MAX_CLOCK = 0xffffffff;

export const updateKey = (doc: string, clock: number): Buffer =>
  keyEncoding.encode(['v1', doc, 'update', clock]);

/** The range of every update of `doc`, for iterators. */
export const updateRange = (doc: string) => ({
  gte: updateKey(doc, 0),
  lt: updateKey(doc, MAX_CLOCK),
});

/** The clock of an update key read back from LevelDB. */
export const clockOf = (key: Uint8Array): number => keyEncoding.decode(key)[3] as number;

export const metaKey = (doc: string, key: string): Buffer =>
  keyEncoding.encode(['v1', doc, 'meta', key]);

export const stateVectorKey = (doc: string): Buffer => keyEncoding.encode(['v1_sv', doc]);

/** Every state-vector key, one per stored document: how y-leveldb lists documents. */
export const stateVectorRange = () => ({
  gte: keyEncoding.encode(['v1_sv']),
  lt: keyEncoding.encode(['v1_sw']),
});

export const docOfStateVectorKey = (key: Uint8Array): string =>
  keyEncoding.decode(key)[1] as string;

export function encodeStateVector(clock: number, sv: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, clock);
  encoding.writeVarUint8Array(encoder, sv);
  return encoding.toUint8Array(encoder);
}

export function decodeStateVector(value: Uint8Array): { clock: number; sv: Uint8Array } {
  const decoder = decoding.createDecoder(value);
  const clock = decoding.readVarUint(decoder);
  return { clock, sv: decoding.readVarUint8Array(decoder) };
}

export const encodeMeta = (value: string | number): Uint8Array => buffer.encodeAny(value);
export const decodeMeta = (value: Uint8Array): unknown => buffer.decodeAny(value);
