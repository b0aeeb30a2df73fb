/**
 * @module Types for y-leveldb 0.2.0: the package ships declarations but its `exports` map does
 * not reach them. Only the surface convosync uses is declared.
 */
declare module 'y-leveldb' {
  import type * as Y from 'yjs';

  export class LeveldbPersistence {
    constructor(location: string, opts?: { levelOptions?: Record<string, unknown> });
    /** Internal serialising mutex; y-leveldb's version logs and swallows errors. */
    _transact<T>(f: (db: unknown) => Promise<T>): Promise<T>;
    tr: Promise<unknown>;
    getYDoc(docName: string): Promise<Y.Doc>;
    storeUpdate(docName: string, update: Uint8Array): Promise<number>;
    flushDocument(docName: string): Promise<void>;
    clearDocument(docName: string): Promise<void>;
    getStateVector(docName: string): Promise<Uint8Array>;
    setMeta(docName: string, metaKey: string, value: unknown): Promise<void>;
    getMeta(docName: string, metaKey: string): Promise<unknown>;
    delMeta(docName: string, metaKey: string): Promise<void>;
    getMetas(docName: string): Promise<Map<string, unknown>>;
    getAllDocNames(): Promise<string[]>;
    destroy(): Promise<void>;
  }
}

declare module 'y-leveldb' {
  export function getLevelUpdates(db: unknown, docName: string): Promise<Uint8Array[]>;
}

declare module 'y-leveldb' {
  /** The key encoding y-leveldb opens its LevelDB with (tagged strings and big-endian uint32s). */
  export const keyEncoding: {
    encode(key: Array<string | number>): Buffer;
    decode(key: Uint8Array): Array<string | number>;
  };
}
