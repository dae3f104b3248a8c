// @ts-check
// The notes API's client: one function per operation of openapi.json,
// over any fetch (the browser's, or one that signs each call). Errors are
// ApiError, with the API's own message, or words for an API that could
// not be reached at all.

/**
 * The types are those of routes/openapi.json, made into api.d.ts by
 * `make types` (a test fails when it falls behind the document);
 * `make lint` checks this file against them with TypeScript.
 * @typedef {import("./api").components["schemas"]} Schemas
 * @typedef {Schemas["Note"]} Note
 * @typedef {Schemas["NoteInput"]} NoteInput
 * @typedef {{notes: Note[], nextCursor: string}} NotePage
 * @typedef {Schemas["UploadInput"]} UploadInput
 * @typedef {Schemas["Upload"]} Upload
 * @typedef {Schemas["Download"]} Download
 * @typedef {Schemas["Purchase"]} Purchase
 * @typedef {Schemas["BillingSummary"]} Billing
 * @typedef {Schemas["PaymentIntent"]} PaymentIntent
 * @typedef {Schemas["Me"]} Me
 * @typedef {Schemas["Export"]} ExportPage
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
    /** @param {UploadInput} file @returns {Promise<Upload>} */
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
