// tokens.js: the session store shared by every tab of an origin.
//
// The session is kept twice: in IndexedDB, the copy read and written under
// the cross-tab lock (its transactions are consistent across tabs), and in
// localStorage, a mirror whose `storage` events tell the other tabs and
// which is read where a slightly stale answer is harmless. (localStorage
// alone is not enough: another tab's write can reach this tab's copy after
// the lock has passed, and presenting a rotated refresh token revokes the
// session.)
import { GatewayError } from "./errors.js";

/** @typedef {import("./timing.js").StoredSession} StoredSession */

/**
 * validSession returns t if it looks like a stored session, else null.
 * @param {any} t
 * @returns {StoredSession | null}
 */
export function validSession(t) {
  return t && typeof t === "object" && t.token && t.refresh_token && t.session_id ? t : null;
}

/**
 * TokenStore keeps one session under one key, for every tab of the origin.
 * Its methods never throw for a missing IndexedDB (private windows, old
 * browsers): the localStorage mirror is then the only copy.
 */
export class TokenStore {
  #key;
  #lockWait;
  /** @type {Promise<IDBDatabase | null> | null} */
  #dbPromise = null;

  /**
   * @param {string} key the localStorage key (and IndexedDB key) of the session
   * @param {number} lockWait ms to wait for the cross-tab lock before "lock_timeout"
   */
  constructor(key, lockWait) {
    this.#key = key;
    this.#lockWait = lockWait;
  }

  /** The storage key. */
  get key() {
    return this.#key;
  }

  /**
   * read returns the authoritative stored session, or null.
   * @returns {Promise<StoredSession | null>}
   */
  async read() {
    const db = await this.#db();
    if (!db) return this.peek();
    return validSession(await idb(db, "readonly", (st) => st.get(this.#key)));
  }

  /**
   * peek returns the localStorage mirror, or null.
   * @returns {StoredSession | null}
   */
  peek() {
    try {
      return validSession(JSON.parse(globalThis.localStorage.getItem(this.#key) || "null"));
    } catch {
      return null;
    }
  }

  /**
   * save stores a session body (generation counts its rotations) and
   * returns the stored record.
   * @param {Omit<StoredSession, "received_at" | "generation">} body
   * @param {number} [generation]
   * @returns {Promise<StoredSession>}
   */
  save(body, generation = 0) {
    return this.put({ ...body, received_at: Date.now(), generation });
  }

  /**
   * put writes the stored record t in both places.
   * @param {StoredSession} t
   * @returns {Promise<StoredSession>}
   */
  async put(t) {
    const db = await this.#db();
    if (db) await idb(db, "readwrite", (st) => st.put(t, this.#key));
    globalThis.localStorage.setItem(this.#key, JSON.stringify(t));
    return t;
  }

  /** clear removes the stored session from both places. */
  async clear() {
    const db = await this.#db();
    if (db) await idb(db, "readwrite", (st) => st.delete(this.#key));
    globalThis.localStorage.removeItem(this.#key);
  }

  /**
   * forget clears the stored session if it is still sessionID.
   * @param {string} sessionID
   * @returns {Promise<void>}
   */
  forget(sessionID) {
    return this.withLock(async () => {
      if ((await this.read())?.session_id === sessionID) await this.clear();
    });
  }

  /**
   * withLock runs fn while holding the cross-tab lock of this session key:
   * the Web Locks API where available (secure contexts), else a
   * localStorage lease. A holder makes at most two HTTP calls, each bounded
   * by the request timeout, so waiting longer than lockWait means something
   * is wrong: it then rejects with "lock_timeout" (retried like a network
   * error) rather than risk presenting a refresh token another tab rotated.
   * @template T
   * @param {() => Promise<T>} fn
   * @returns {Promise<T>}
   */
  withLock(fn) {
    const name = this.#key + ":lock";
    const wait = this.#lockWait;
    if (!globalThis.navigator?.locks?.request) return leaseLock(name, fn, wait);
    const signal = AbortSignal.timeout(wait);
    // request resolves with fn's result (the DOM typings of some
    // TypeScript versions say a promise of it).
    const held = /** @type {Promise<T>} */ (navigator.locks.request(name, { signal }, fn));
    return held.catch((err) => {
      // The signal only counts while waiting: after that, fn's own errors.
      if (signal.aborted && (err?.name === "TimeoutError" || err?.name === "AbortError")) {
        throw new GatewayError(0, "lock_timeout", `the session lock was not free within ${wait} ms`);
      }
      throw err;
    });
  }

  /**
   * #db opens the IndexedDB database once; null when there is none.
   * @returns {Promise<IDBDatabase | null>}
   */
  #db() {
    if (!this.#dbPromise) {
      this.#dbPromise = new Promise((resolve) => {
        if (!globalThis.indexedDB) {
          resolve(null);
          return;
        }
        const req = indexedDB.open("bigtwo-gateway", 1);
        req.onupgradeneeded = () => req.result.createObjectStore("sessions");
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => resolve(null);
        req.onblocked = () => resolve(null);
      });
    }
    return this.#dbPromise;
  }
}

/**
 * idb runs one request in a transaction of the "sessions" store and
 * resolves with its result once the transaction has committed.
 * @param {IDBDatabase} db
 * @param {IDBTransactionMode} mode
 * @param {(st: IDBObjectStore) => IDBRequest} fn
 * @returns {Promise<any>}
 */
function idb(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction("sessions", mode);
    const req = fn(tx.objectStore("sessions"));
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/**
 * leaseLock is the fallback lock without the Web Locks API: a lease in
 * localStorage of at most wait ms, written, then confirmed after a short
 * pause. Waiting longer than wait rejects with "lock_timeout".
 * @template T
 * @param {string} name
 * @param {() => Promise<T>} fn
 * @param {number} wait
 * @returns {Promise<T>}
 */
async function leaseLock(name, fn, wait) {
  const me = Math.random().toString(36).slice(2);
  /** @param {number} ms */
  const pause = (ms) => new Promise((r) => setTimeout(r, ms));
  const lease = () => {
    try {
      return JSON.parse(localStorage.getItem(name) || "null");
    } catch {
      return null;
    }
  };
  const deadline = Date.now() + wait;
  while (Date.now() < deadline) {
    const cur = lease();
    if (!cur || cur.until < Date.now()) {
      localStorage.setItem(name, JSON.stringify({ me, until: Date.now() + wait }));
      await pause(50);
      if (lease()?.me === me) {
        try {
          return await fn();
        } finally {
          // Only our own lease: if it ran out, another tab may hold it now.
          if (lease()?.me === me) localStorage.removeItem(name);
        }
      }
    }
    await pause(100 + Math.random() * 100);
  }
  throw new GatewayError(0, "lock_timeout", `the session lock was not free within ${wait} ms`);
}
