// @ts-check
// The notes API's client: one function per operation of openapi.json,
// over any fetch (the browser's, or one that signs each call). Errors are
// ApiError, with the API's own message, or words for an API that could
// not be reached at all.

/**
 * @typedef {{userId: string, noteId: string, content: string, attachment: string | null, createdAt: number, updatedAt?: number}} Note
 * @typedef {{content: string, attachment?: string | null}} NoteInput
 * @typedef {{notes: Note[], nextCursor: string}} NotePage
 * @typedef {{key: string, uploadUrl: string, method: string, headers: Record<string, string>, expiresAt: number}} Upload
 * @typedef {{url: string, expiresAt: number}} Download
 * @typedef {{id: string, storage: number, amount: number, createdAt: number, state?: string}} Purchase
 * @typedef {{storage: number, purchases: Purchase[]}} Billing
 * @typedef {{paymentIntentId: string, clientSecret: string, amount: number, storage: number, status: string}} PaymentIntent
 * @typedef {{identityId: string, notes: number, attachments: number, storagePaid: number, freeNotes?: number | null, allowance?: number | null}} Me
 * @typedef {{identityId: string, notes: (Note & {download: string | null})[], purchases: Purchase[]}} ExportPage
 * @typedef {(input: string, init?: RequestInit) => Promise<Response>} Fetch
 */

/** ApiError is an answer that is not a success, or no answer at all (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string} [requestId]
   */
  constructor(status, message, requestId) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.requestId = requestId || "";
  }
}

/**
 * createClient returns the API at baseUrl, called with fetchFn.
 * @param {string} baseUrl
 * @param {Fetch} [fetchFn]
 */
export function createClient(baseUrl, fetchFn = (input, init) => fetch(input, init)) {
  const base = baseUrl.replace(/\/+$/, "");

  /**
   * call makes one call and returns its JSON (null for 204) and headers.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {Record<string, string>} [headers]
   * @returns {Promise<{data: any, headers: Headers}>}
   */
  async function call(method, path, body, headers = {}) {
    /** @type {RequestInit} */
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.headers = { ...headers, "Content-Type": "application/json" };
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetchFn(base + path, init);
    } catch {
      // fetch says only "Failed to fetch": the API is down, or it does
      // not allow this page's origin (the browser hides which).
      throw new ApiError(0, `The API at ${base} cannot be reached: is it running, and does it allow this page's origin (${location.origin})?`);
    }
    const data = resp.status === 204 ? null : await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const msg = data?.error || data?.message || `${method} ${path} answered ${resp.status}`;
      throw new ApiError(resp.status, msg, resp.headers.get("X-Request-Id") || data?.requestId);
    }
    return { data, headers: resp.headers };
  }

  const id = encodeURIComponent;
  return {
    /** @param {{limit?: number, cursor?: string}} [q] @returns {Promise<NotePage>} */
    async listNotes(q = {}) {
      const params = new URLSearchParams();
      if (q.limit) params.set("limit", String(q.limit));
      if (q.cursor) params.set("cursor", q.cursor);
      const { data, headers } = await call("GET", "/notes" + (params.size ? "?" + params : ""));
      return { notes: data, nextCursor: headers.get("X-Next-Cursor") || "" };
    },
    /** @param {NoteInput} note @returns {Promise<Note>} */
    async createNote(note) { return (await call("POST", "/notes", note)).data; },
    /** @param {string} noteId @returns {Promise<Note>} */
    async getNote(noteId) { return (await call("GET", `/notes/${id(noteId)}`)).data; },
    /** @param {string} noteId @param {NoteInput} note @returns {Promise<Note>} */
    async updateNote(noteId, note) { return (await call("PUT", `/notes/${id(noteId)}`, note)).data; },
    /** @param {string} noteId @returns {Promise<void>} */
    async deleteNote(noteId) { await call("DELETE", `/notes/${id(noteId)}`); },
    /** @param {{fileName: string, contentType: string, size: number}} file @returns {Promise<Upload>} */
    async createUpload(file) { return (await call("POST", "/attachments", file)).data; },
    /** @param {string} noteId @returns {Promise<Download>} */
    async getDownload(noteId) { return (await call("GET", `/notes/${id(noteId)}/attachment`)).data; },
    /** @returns {Promise<Billing>} */
    async getBilling() { return (await call("GET", "/billing")).data; },
    /** @param {number} storage @param {string} idempotencyKey @returns {Promise<PaymentIntent>} */
    async createPayment(storage, idempotencyKey) {
      return (await call("POST", "/billing", { storage }, { "Idempotency-Key": idempotencyKey })).data;
    },
    /** @returns {Promise<Me>} */
    async getMe() { return (await call("GET", "/me")).data; },
    /** @param {string} [cursor] @returns {Promise<{page: ExportPage, nextCursor: string}>} */
    async exportPage(cursor) {
      const { data, headers } = await call("GET", "/me/export" + (cursor ? `?cursor=${id(cursor)}` : ""));
      return { page: data, nextCursor: headers.get("X-Next-Cursor") || "" };
    },
    /** @returns {Promise<boolean>} true while more remains to delete */
    async deleteMe() { return (await call("DELETE", "/me")).data !== null; },
  };
}
