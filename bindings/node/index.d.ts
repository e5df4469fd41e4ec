// bindings/node/index.d.ts - TypeScript declarations of persist for Node.js.

/** Any value JSON can hold (what is stored and read back). */
export type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };

/** An Error from persist: `code` names the status ('ENOTFOUND', 'ECONFLICT',
 *  'EINVAL', 'ENOTSUP', 'EUNAVAILABLE', 'ETIMEDOUT', 'EUNCERTAIN', 'EIO',
 *  'ECORRUPT', 'ENOMEM', 'ECONFIG', 'ECLOSED', 'ENOPLUGIN', ...), the
 *  message is persist's ("primary message\nDetail sentence."). */
export interface PersistError extends Error {
  code: string;
  status: number;
}

export interface OpenOptions {
  /** Name of this instance in session events and listings (default: host:pid:random). */
  instanceId?: string;
  /** persist's warnings and errors (a flush that failed, a reconnect, ...). */
  log?: (level: 'debug' | 'info' | 'warning' | 'error', message: string) => void;
  /** What a subscriber callback threw, or a background increment that failed
   *  (default: a process warning). */
  onError?: (error: unknown, what: string) => void;
}

/** Configuration documents (the platform's ConfigurationProvider). */
export interface ConfigurationProvider {
  /** The document and its ETag; rejects with code 'ENOTFOUND' when absent. */
  get(key: string): Promise<{ data: any; etag: string }>;
  /** Store value (as JSON); ttl in seconds; ifMatch: only when the current
   *  ETag is this one (else 'ECONFLICT'). */
  set(key: string, value: any, options?: { ttl?: number | null; ifMatch?: string | null }): Promise<void>;
  /** callback(key, etag) on every change of key (null: every key); etag is
   *  null when deleted, key null when everything should be re-read.
   *  Resolves to the function that ends the subscription. */
  subscribe(key: string | null, callback: (key: string | null, etag: string | null) => void):
    Promise<() => Promise<boolean>>;
  /** The documents found, by key (absent keys are left out). */
  getMultiple(keys: string[]): Promise<Map<string, { data: any; etag: string }>>;
  /** ETag of data: of the bytes of a Buffer, else of its JSON text. */
  generateETag(data: any): string;
  delete(key: string, options?: { ifMatch?: string | null }): Promise<void>;
  list(): Promise<string[]>;
}

export interface WriteQueueStats {
  enabled: boolean;
  intervalMs: number;
  maxOps: number;
  maxBytes: number;
  opsQueued: number;
  opsCoalesced: number;
  opsFlushed: number;
  opsRejected: number;
  flushes: number;
  flushFailures: number;
  queueDepth: number;
  queueBytes: number;
  medianFlushUs: number;
  lastError?: PersistError;
}

/** Usage counters, logs and key-value state (the platform's StateStorageProvider). */
export interface StateStorageProvider {
  /** The value, or undefined when absent. */
  get(collection: string, key: string): Promise<any>;
  /** ttl in seconds (null: none). */
  set(collection: string, key: string, value: any, ttl?: number | null): Promise<void>;
  /** Atomic increment; the new value. */
  increment(collection: string, key: string, amount?: number | bigint): Promise<number>;
  append(collection: string, data: any): Promise<void>;
  setBatch(collection: string, entries: Array<{ key: string; value: any; ttl?: number | null }>): Promise<void>;
  delete(collection: string, key: string): Promise<void>;
  scan(collection: string, prefix?: string): Promise<Array<{ key: string; value: any; expiresAt: number | null }>>;
  readLog(collection: string, from?: number, max?: number):
    Promise<{ records: Array<{ index: number; data: any }>; next: number }>;
  /** Store everything written so far (the write queue first). */
  flush(): Promise<void>;
  /** Queued increment: returns at once (the usage tracker's call). */
  add(collection: string, key: string, amount?: number | bigint): void;
  /** Several increments as one batch. */
  incrementBatch(collection: string, entries: Array<{ key: string; amount?: number | bigint }>): Promise<void>;
  stats(): WriteQueueStats;
}

export interface SessionEventInfo {
  /** The session an event was sent to; null for a broadcast. */
  sessionId: string | null;
  /** Instance id of the sender. */
  origin: string;
  /** Sent by this handle. */
  local: boolean;
}

/** Live connections and cross-instance events (the platform's SessionProvider). */
export interface SessionProvider {
  /** Register or refresh a connection this instance holds (ttl in seconds). */
  setConnection(sessionId: string, connectionData: any, ttl?: number | null): Promise<void>;
  broadcast(event: string, data: any): Promise<void>;
  /** Resolves to the function that ends the subscription. */
  subscribe(callback: (event: string, data: any, info: SessionEventInfo) => void):
    Promise<() => Promise<boolean>>;
  removeConnection(sessionId: string): Promise<void>;
  listConnections(): Promise<Array<{ sessionId: string; data: any; instance: string | null; expiresAt: number | null }>>;
  send(sessionId: string, event: string, data: any): Promise<void>;
}

export interface Persist {
  readonly configuration: ConfigurationProvider;
  readonly state: StateStorageProvider;
  readonly sessions: SessionProvider;
  readonly instanceId: string;
  /** State writes are queued (batchInterval). */
  readonly batching: boolean;
  readonly providers: { configuration: string | null; state: string | null; sessions: string | null };
  /** Flush and release everything. */
  close(): Promise<void>;
}

/** Open from a JSON file, an object (a whole platform.json or its
 *  "persistence" member), or nothing ($PERSIST_CONFIG or the embedded
 *  default: filesystem under ./persist-data, memory sessions). */
export function open(config?: string | object | null, options?: OpenOptions): Persist;

/** Largest value in bytes (of its JSON text). */
export const VALUE_MAX: number;
