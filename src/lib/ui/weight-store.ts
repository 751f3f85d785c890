// Keeps the live distillation page's fine-tuned student across reloads in this browser's IndexedDB (database
// "dtkd-lab", store "weights", one record per key). The bytes are a DTKDCKPT file exactly as the page exports
// it (src/lib/checkpoint.ts encodes and decodes it, DOM-free); this module only stores and fetches them.

const DB_NAME = "dtkd-lab";
const STORE = "weights";
const VERSION = 1;

/** The key the live distillation page stores its student under. */
export const DISTILLED_STUDENT_KEY = "live-distill-student";

export interface StoredWeights {
  /** A DTKDCKPT file. */
  bytes: ArrayBuffer;
  /** What the weights are, e.g. "fine-tuned 120 steps from student-tiny". */
  label: string;
  /** Steps of training behind them (the checkpoint's `step`). */
  step: number;
  savedAt: string;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") {
      reject(new Error("this browser has no IndexedDB"));
      return;
    }
    const req = indexedDB.open(DB_NAME, VERSION);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("IndexedDB could not be opened"));
    req.onblocked = () => reject(new Error("IndexedDB is blocked by another tab of this site"));
  });
}

async function withStore<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = f(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error ?? req.error ?? new Error("IndexedDB transaction failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** Stores (replacing) the record under `key`. */
export async function saveWeights(key: string, w: StoredWeights): Promise<void> {
  await withStore("readwrite", (s) => s.put({...w, bytes: w.bytes.slice(0)}, key));
}

/** The record under `key`, or null when there is none (or it is not a record this module wrote). */
export async function loadWeights(key: string): Promise<StoredWeights | null> {
  const v = (await withStore("readonly", (s) => s.get(key))) as Partial<StoredWeights> | undefined;
  if (!v || !(v.bytes instanceof ArrayBuffer) || typeof v.label !== "string") return null;
  return {bytes: v.bytes, label: v.label, step: Number(v.step) || 0, savedAt: String(v.savedAt ?? "")};
}

export async function deleteWeights(key: string): Promise<void> {
  await withStore("readwrite", (s) => s.delete(key));
}
