// The Scratch notes page: list, create, edit and delete notes, and
// attach, download and replace a file, with plain fetch calls to the API
// on another origin (every call is a CORS call). Locally no sign-in is
// needed: the API takes the dev identity. The API's base URL is ?api=...,
// http://127.0.0.1:3000 by default.

const api = new URLSearchParams(location.search).get("api") || "http://127.0.0.1:3000";
const $ = (id) => document.getElementById(id);
let editing = null; // the note being edited, or null for a new one

$("api").textContent = api;

// pageSize is how many notes one "More" brings.
const pageSize = 20;

// call makes one API call and returns its JSON (null for 204); an error
// answer throws an Error carrying the API's own message. With withHeaders
// it returns { data, headers }.
async function call(method, path, body, withHeaders) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(api + path, init);
  const data = resp.status === 204 ? null : await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.error || data.message || `${method} ${path}: ${resp.status}`);
  return withHeaders ? { data, headers: resp.headers } : data;
}

function show(error, status) {
  $("error").textContent = error || "";
  $("status").textContent = status || "";
}

// upload sends a file straight to storage with a presigned URL and returns
// the key a note names it by.
async function upload(file) {
  const up = await call("POST", "/attachments", {
    fileName: file.name, contentType: file.type || "application/octet-stream", size: file.size,
  });
  const resp = await fetch(up.uploadUrl, { method: up.method, headers: up.headers, body: file });
  if (!resp.ok) throw new Error(`the upload of ${file.name} was refused (${resp.status})`);
  return up.key;
}

// fileName is what a person recognises of a key: the name after "<ms>-".
const fileName = (key) => key.replace(/^\d+-/, "");

async function download(note) {
  const { url } = await call("GET", `/notes/${note.noteId}/attachment`);
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`the file could not be downloaded (${resp.status})`);
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

function edit(note) {
  editing = note;
  $("content").value = note.content;
  $("file").value = "";
  $("clear-file").checked = false;
  $("clear-row").hidden = !note.attachment;
  $("cancel").hidden = false;
  $("editing").textContent = note.attachment ? `Editing; its file is ${fileName(note.attachment)}` : "Editing";
  $("content").focus();
}

function reset() {
  editing = null;
  $("editor").reset();
  $("clear-row").hidden = true;
  $("cancel").hidden = true;
  $("editing").textContent = "";
}

// cursor continues the list after the notes shown; "" when none remain.
let cursor = "";

// list shows the newest notes, or with more the next page after them,
// following the API's X-Next-Cursor.
async function list(more) {
  let path = `/notes?limit=${pageSize}`;
  if (more) path += `&cursor=${encodeURIComponent(cursor)}`;
  const { data: notes, headers } = await call("GET", path, undefined, true);
  cursor = headers.get("X-Next-Cursor") || "";
  $("more").hidden = !cursor;
  const ul = $("notes");
  if (!more) ul.replaceChildren();
  for (const note of notes) {
    const li = $("note").content.firstElementChild.cloneNode(true);
    li.dataset.id = note.noteId;
    li.querySelector(".content").textContent = note.content;
    li.querySelector(".when").textContent = new Date(note.updatedAt || note.createdAt).toLocaleString();
    if (note.attachment) {
      li.querySelector(".file").textContent = fileName(note.attachment);
      const dl = li.querySelector(".download");
      dl.hidden = false;
      dl.onclick = () => download(note).catch((e) => show(e.message));
    }
    li.querySelector(".edit").onclick = () => edit(note);
    li.querySelector(".delete").onclick = async () => {
      try {
        await call("DELETE", `/notes/${note.noteId}`);
        if (editing && editing.noteId === note.noteId) reset();
        await list();
        await me();
        show("", "Deleted");
      } catch (e) {
        show(e.message);
      }
    };
    ul.append(li);
  }
}

$("editor").onsubmit = async (event) => {
  event.preventDefault();
  // One save at a time: a second click while this one is in flight would
  // make a second note.
  if ($("save").disabled) return;
  $("save").disabled = true;
  show("", "Saving...");
  try {
    const file = $("file").files[0];
    let attachment = editing ? editing.attachment : null;
    if (file) attachment = await upload(file);
    else if ($("clear-file").checked) attachment = null;
    const body = { content: $("content").value, attachment };
    if (editing) await call("PUT", `/notes/${editing.noteId}`, body);
    else await call("POST", "/notes", body);
    reset();
    await list();
    await me();
    show("", "Saved");
  } catch (e) {
    show(e.message);
  } finally {
    $("save").disabled = false;
  }
};
$("cancel").onclick = reset;
$("more").onclick = () => list(true).catch((e) => show(e.message));

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// me shows who the API takes the caller for and what they have (GET
// /me), and the storage paid for (GET /billing).
async function me() {
  const m = await call("GET", "/me");
  $("who").textContent = m.identityId;
  $("counts").textContent = `${plural(m.notes, "note", "notes")}, ${plural(m.attachments, "file", "files")}`;
  const { storage, purchases } = await call("GET", "/billing");
  $("paid").textContent = `${plural(storage, "note", "notes")} (${plural(purchases.length, "payment", "payments")})`;
}

// exportData saves everything of the caller as one JSON file: every page
// of GET /me/export, following X-Next-Cursor.
async function exportData() {
  const pages = [];
  let path = "/me/export";
  for (;;) {
    const { data, headers } = await call("GET", path, undefined, true);
    pages.push(data);
    const next = headers.get("X-Next-Cursor");
    if (!next) break;
    path = `/me/export?cursor=${encodeURIComponent(next)}`;
  }
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
// Cognito user (Amplify's Auth.deleteUser()).
async function erase() {
  if (!confirm("Delete your account? Every note and file goes, for good. What you paid for is kept on record.")) return;
  show("", "Deleting...");
  // 202 {"remaining": true} while more remains, 204 (null) when done;
  // an error throws, with the API's message.
  while ((await call("DELETE", "/me")) !== null) show("", "Deleting... still going");
  reset();
  await list();
  await me();
  show("", "Your notes and files are deleted");
}

$("export").onclick = () => exportData().catch((e) => show(e.message));
$("erase").onclick = () => erase().catch((e) => show(e.message));

list().catch((e) => show(e.message));
me().catch((e) => show(e.message));
