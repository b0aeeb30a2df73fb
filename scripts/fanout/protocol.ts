/**
 * @module The IPC messages between bench:fanout and its load-generator processes.
 */
export interface Member {
  id: string;
  /** A JWT for the product; none for the reference server. */
  token?: string;
  /** The server this member's client connects to, if not the run's (a node of a cluster). */
  url?: string;
}

export interface RoomSpec {
  name: string;
  /** The members that are online (each a client with its own Y.Doc). */
  members: Member[];
}

export interface RunResult {
  sent: number;
  /** Deliveries due at this process's clients. */
  expected: number;
  received: number;
  sendSeconds: number;
  /** Delivery times (ms) at the receiving clients. */
  latencies: number[];
  /** When deliveries are missing after the drain: what the lagging clients look like. */
  missing?: string[];
}

export type Command =
  | { type: 'setup'; url: string; rooms: RoomSpec[] }
  /** Sends at `rate` (0: only receives) and waits for `expect` deliveries to its clients. */
  | { type: 'run'; rate: number; seconds: number; drainMs: number; expect: number }
  | { type: 'burst'; room: string; writer: Member; reader: Member; count: number }
  | { type: 'fill'; room: string; writer: Member; count: number }
  | { type: 'unfill' }
  | { type: 'open'; room: string; member: Member; count: number }
  | { type: 'close' };

export type Reply =
  | { type: 'ready' }
  | { type: 'run'; result: RunResult }
  | { type: 'timed'; ms: number; ok: boolean; received?: number; size?: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };
