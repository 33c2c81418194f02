// Small helpers every module uses: safe string conversion, URL encoding,
// array guards and unique element ids.

/** null/undefined → '', anything else → its string. */
export const str = (v) => (v == null ? '' : String(v));

/** encodeURIComponent, for path segments and query values. */
export const enc = encodeURIComponent;

/** The value if it is an array, else an empty array (app data is untrusted). */
export const arr = (v) => (Array.isArray(v) ? v : []);

let uid = 0;

/** A fresh number for element ids unique within the page. */
export const nextId = () => ++uid;

/** decodeURIComponent that leaves a malformed sequence as it is. */
export function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

/** A department as sent by the API (object or name) → its name. */
export const deptName = (d) => (d && typeof d === 'object' ? str(d.name) : str(d));
