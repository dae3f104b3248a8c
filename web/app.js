// @ts-check
// The Scratch notes page: sign in, then list, create, edit and delete
// notes, attach, download and replace a file, buy storage, export and
// erase your data, with calls to the API on another origin (every call
// is a CORS call).
//
// config.json says where the API is and, for signing in, the Cognito
// pools (`make demo` writes it for the local stack, `make web-config` for
// a deployed one). With no pools in it, the page signs nobody in and the
// local API takes its local identity (`make run`).

import { createClient } from "./client.js";
import { createAuth } from "./auth.js";

/** @param {string} id */
const $ = (id) => /** @type {any} */ (document.getElementById(id));

// The largest file a note may hold: the API's limit (the original
// frontend's MAX_ATTACHMENT_SIZE).
const maxFileBytes = 5_000_000;
// pageSize is how many notes one "More" brings.
const pageSize = 20;

/** web/config.json (make web-config writes it): empty locally.
 * @type {Partial<import("./auth.js").AuthConfig> & {apiUrl?: string, stripePublishableKey?: string}} */
const config = await fetch("config.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
const apiUrl = config.apiUrl || "http://127.0.0.1:3000";
const auth = config.userPoolId ? createAuth(/** @type {import("./auth.js").AuthConfig} */ ({ ...config, apiUrl })) : null;
const client = createClient(apiUrl, auth ? auth.fetch : undefined);
$("api").textContent = apiUrl;

/** @type {any} the note being edited, or null for a new one */
let editing = null;
// cursor continues the list after the notes shown; "" when none remain.
let cursor = "";

/** show puts an error, or a status, in words on the page. */
function show(/** @type {unknown} */ error, status = "") {
  $("error").textContent = error instanceof Error ? error.message : error ? String(error) : "";
  $("status").textContent = status;
}

const plural = (/** @type {number} */ n, /** @type {string} */ one, /** @type {string} */ many) => `${n} ${n === 1 ? one : many}`;
const dollars = (/** @type {number} */ cents) => `$${(cents / 100).toFixed(2)}`;
// fileName is what a person recognises of a key: the name after "<ms>-".
const fileName = (/** @type {string} */ key) => key.replace(/^\d+-/, "");

// upload sends a file straight to storage with a presigned URL and returns
// the key a note names it by.
async function upload(/** @type {File} */ file) {
  if (file.size > maxFileBytes) {
    throw new Error(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB: a file may be at most 5 MB (5,000,000 bytes)`);
  }
  const up = await client.createUpload({ fileName: file.name, contentType: file.type || "application/octet-stream", size: file.size });
  const resp = await fetch(up.uploadUrl, { method: up.method, headers: up.headers, body: file }).catch(() => null);
  if (!resp || !resp.ok) throw new Error(`The upload of ${file.name} was refused (${resp ? resp.status : "no answer"})`);
  return up.key;
}

async function download(/** @type {any} */ note) {
  const { url } = await client.getDownload(note.noteId);
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`The file could not be downloaded (${resp.status})`);
  const blob = await resp.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = fileName(note.attachment);
  a.click();
  // The browser reads the blob after this click returns: revoking it now
  // would cancel the download it has not started yet.
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  show("", `Downloaded ${fileName(note.attachment)} (${blob.size} bytes)`);
}

function edit(/** @type {any} */ note) {
  editing = note;
  $("content").value = note.content;
  $("file").value = "";
  $("clear-file").checked = false;
  $("clear-row").hidden = !note.attachment;
  $("cancel").hidden = false;
  $("editing").textContent = note.attachment ? `Editing; its file is ${fileName(note.attachment)}` : "Editing";
  canSave();
  $("content").focus();
}

function reset() {
  editing = null;
  $("editor").reset();
  $("clear-row").hidden = true;
  $("cancel").hidden = true;
  $("editing").textContent = "";
  canSave();
}

// canSave lets Save be clicked only when there is something to save: an
// empty note can't be.
function canSave() {
  $("save").disabled = $("content").value.trim() === "";
}

async function remove(/** @type {any} */ note) {
  const what = note.content.length > 40 ? note.content.slice(0, 40) + "…" : note.content;
  if (!confirm(`Delete the note "${what}"${note.attachment ? " and its file" : ""}? This cannot be undone.`)) return;
  await client.deleteNote(note.noteId);
  if (editing && editing.noteId === note.noteId) reset();
  await list();
  await me();
  show("", "Deleted");
}

// list shows the newest notes, or with more the next page after them,
// following the API's X-Next-Cursor.
async function list(more = false) {
  const page = await client.listNotes({ limit: pageSize, cursor: more ? cursor : "" });
  cursor = page.nextCursor;
  $("more").hidden = !cursor;
  const ul = $("notes");
  if (!more) ul.replaceChildren();
  for (const note of page.notes) {
    const li = $("note").content.firstElementChild.cloneNode(true);
    li.dataset.id = note.noteId;
    li.querySelector(".content").textContent = note.content;
    li.querySelector(".when").textContent = new Date(note.updatedAt || note.createdAt).toLocaleString();
    if (note.attachment) {
      li.querySelector(".file").textContent = fileName(note.attachment);
      const dl = li.querySelector(".download");
      dl.hidden = false;
      dl.onclick = () => download(note).catch(show);
    }
    li.querySelector(".edit").onclick = () => edit(note);
    li.querySelector(".delete").onclick = () => remove(note).catch(show);
    ul.append(li);
  }
}

$("editor").onsubmit = async (/** @type {Event} */ event) => {
  event.preventDefault();
  if ($("content").value.trim() === "") {
    show("Write something first: an empty note can't be saved");
    return;
  }
  // One save at a time: a second click while this one is in flight would
  // make a second note.
  if ($("save").dataset.busy) return;
  $("save").dataset.busy = "1";
  $("save").disabled = true;
  show("", "Saving...");
  try {
    const file = $("file").files[0];
    let attachment = editing ? editing.attachment : null;
    if (file) attachment = await upload(file);
    else if ($("clear-file").checked) attachment = null;
    const body = { content: $("content").value, attachment };
    if (editing) await client.updateNote(editing.noteId, body);
    else await client.createNote(body);
    reset();
    await list();
    await me();
    show("", "Saved");
  } catch (e) {
    show(e);
  } finally {
    delete $("save").dataset.busy;
    canSave();
  }
};
$("content").oninput = canSave;
$("cancel").onclick = reset;
$("more").onclick = () => list(true).catch(show);

// me shows who the API takes the caller for, what they have (GET /me),
// and the storage they keep and paid for (GET /billing).
async function me() {
  const m = await client.getMe();
  $("who").textContent = m.identityId;
  $("counts").textContent = `${plural(m.notes, "note", "notes")}, ${plural(m.attachments, "file", "files")}`;
  const { storage, purchases } = await client.getBilling();
  $("paid").textContent = `${plural(storage, "note", "notes")} paid for (${plural(purchases.length, "payment", "payments")})`;
  $("allowance").textContent = m.allowance == null
    ? `No limit here: keep as many notes as you like. Paid for: ${plural(m.storagePaid, "note", "notes")}.`
    : `You may keep ${plural(m.allowance, "note", "notes")}: ${m.freeNotes} free and ${m.storagePaid} paid for. You keep ${m.notes}.`;
}

// buy creates a PaymentIntent for the storage asked for; Stripe.js, when
// config.json names a publishable key, takes the card and confirms it.
// Stripe's webhook then records the purchase (GET /billing shows it).
async function buy() {
  const storage = Number($("storage").value);
  $("buy-button").disabled = true;
  try {
    const pi = await client.createPayment(storage, crypto.randomUUID());
    show("", `A payment of ${dollars(pi.amount)} for ${plural(storage, "note", "notes")} is ready (${pi.paymentIntentId})`);
    await confirmWithStripe(pi.clientSecret);
  } finally {
    $("buy-button").disabled = false;
  }
}

// confirmWithStripe shows Stripe's Payment Element for the intent and
// confirms it on Pay: a card, or any method the account offers.
async function confirmWithStripe(/** @type {string} */ clientSecret) {
  if (!config.stripePublishableKey) {
    $("payment").textContent = "To pay, config.json needs stripePublishableKey (pk_...): Stripe.js then takes the card.";
    return;
  }
  // @ts-ignore: Stripe.js's global
  if (!window.Stripe) await new Promise((ok, fail) => {
    const s = document.createElement("script");
    s.src = "https://js.stripe.com/v3/";
    s.onload = ok;
    s.onerror = () => fail(new Error("Stripe.js could not be loaded"));
    document.head.append(s);
  });
  // @ts-ignore
  const stripe = window.Stripe(config.stripePublishableKey);
  const elements = stripe.elements({ clientSecret });
  $("payment").replaceChildren();
  elements.create("payment").mount("#payment");
  $("pay").hidden = false;
  $("pay").onclick = async () => {
    const { error } = await stripe.confirmPayment({ elements, redirect: "if_required" });
    if (error) return show(error.message);
    $("pay").hidden = true;
    show("", "Paid: the storage counts once Stripe tells the API");
  };
}
$("buy").onsubmit = (/** @type {Event} */ e) => { e.preventDefault(); buy().catch(show); };

// exportData saves everything of the caller as one JSON file: every page
// of GET /me/export, following X-Next-Cursor.
async function exportData() {
  const pages = [];
  let next = "";
  do {
    const { page, nextCursor } = await client.exportPage(next);
    pages.push(page);
    next = nextCursor;
  } while (next);
  const all = { identityId: pages[0].identityId, notes: pages.flatMap((p) => p.notes), purchases: pages[0].purchases };
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([JSON.stringify(all, null, 2)], { type: "application/json" }));
  a.download = "scratch-export.json";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  show("", `Exported ${plural(all.notes.length, "note", "notes")}`);
}

// erase deletes every note and file of the caller, calling DELETE /me
// until it says nothing is left. Deployed, the frontend then deletes the
// Cognito user too (CognitoUser.deleteUser()).
async function erase() {
  if (!confirm("Delete your account? Every note and file goes, for good. What you paid for is kept on record.")) return;
  show("", "Deleting...");
  while (await client.deleteMe()) show("", "Deleting... still going");
  reset();
  await list();
  await me();
  show("", "Your notes and files are deleted");
}
$("export").onclick = () => exportData().catch(show);
$("erase").onclick = () => erase().catch(show);

// enter shows the notes of whoever the API takes the caller for.
async function enter() {
  $("signin").hidden = true;
  $("app").hidden = false;
  $("whoami").hidden = false;
  $("signout").hidden = !auth;
  $("account").textContent = auth ? auth.email() : "No sign-in (local identities)";
  canSave();
  await Promise.all([list(), me()]);
}

// leave shows the sign-in form, and nothing of the last user.
function leave() {
  $("app").hidden = true;
  $("whoami").hidden = true;
  $("signin").hidden = false;
  $("confirm-form").hidden = true;
  $("signin-form").hidden = false;
  $("notes").replaceChildren();
  reset();
}

if (auth) {
  const email = () => $("email").value.trim();
  $("signin-form").onsubmit = async (/** @type {Event} */ e) => {
    e.preventDefault();
    show("", "Signing in...");
    try {
      await auth.signIn(email(), $("password").value);
      show("", `Signed in as ${email()}`);
      await enter();
    } catch (err) {
      show(err);
    }
  };
  $("signup-button").onclick = async () => {
    if (!$("signin-form").reportValidity()) return;
    show("", "Creating the account...");
    try {
      await auth.signUp(email(), $("password").value);
      $("confirm-email").textContent = email();
      $("signin-form").hidden = true;
      $("confirm-form").hidden = false;
      show("", "Check your e-mail for the code");
    } catch (err) {
      show(err);
    }
  };
  $("confirm-form").onsubmit = async (/** @type {Event} */ e) => {
    e.preventDefault();
    try {
      await auth.confirm(email(), $("code").value.trim());
      await auth.signIn(email(), $("password").value);
      show("", `Account confirmed: signed in as ${email()}`);
      await enter();
    } catch (err) {
      show(err);
    }
  };
  $("signout").onclick = () => {
    auth.signOut();
    leave();
    show("", "Signed out");
  };
  // Still signed in from before: the pool's tokens are in localStorage.
  auth.resume().then((ok) => (ok ? enter() : leave())).catch((err) => { leave(); show(err); });
} else {
  enter().catch(show);
}
