// The todo web app: plain JavaScript over the public REST API and the
// live-updates event stream. No framework, nothing loaded from elsewhere.
"use strict";

const $ = (sel) => document.querySelector(sel);
const session = {
  get token() { return sessionStorage.getItem("todo.token"); },
  get user() { return sessionStorage.getItem("todo.user"); },
  set(user, token) { sessionStorage.setItem("todo.user", user); sessionStorage.setItem("todo.token", token); },
  clear() { sessionStorage.removeItem("todo.user"); sessionStorage.removeItem("todo.token"); },
};
const state = { status: "pending", tasks: [], editing: null, lastEventId: "", stream: null, reload: 0, loads: 0 };
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

// api calls the REST API; a failure throws {status, code, field, message}.
async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Authorization: "Bearer " + session.token, ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 204) return { res, data: null };
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw { status: res.status, code: e.code || "error", field: e.field || "", message: e.message || res.statusText };
  }
  return { res, data };
}
const userPath = () => "/api/" + encodeURIComponent(session.user);

// ---- sign-in ----
async function signIn(ev) {
  ev.preventDefault();
  $("#sign-in-error").textContent = "";
  const token = $("#sign-in-token").value.trim();
  if (token) {
    const user = $("#sign-in-token-user").value.trim();
    if (!user) { $("#sign-in-error").textContent = "Give the user id the token belongs to."; return; }
    session.set(user, token);
    return start();
  }
  const user = $("#sign-in-user").value.trim();
  if (!user) { $("#sign-in-error").textContent = "Enter a user name."; return; }
  const res = await fetch("/dev/sign-in", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user }),
  });
  const data = await res.json().catch(() => null);
  if (res.status === 404 || res.status === 403) {
    $("#token-sign-in").open = true;
    $("#sign-in-error").textContent = res.status === 403 && data && data.error
      ? data.error.message + " Sign in with a token."
      : "Development sign-in is off here: sign in with a token.";
    return;
  }
  if (!res.ok) { $("#sign-in-error").textContent = (data && data.error && data.error.message) || "Sign-in failed."; return; }
  session.set(data.user, data.token);
  start();
}

function signOut() {
  if (state.stream) state.stream.abort();
  session.clear();
  location.reload();
}

// ---- the list ----
function query() {
  const q = new URLSearchParams({ status: state.status, sort: $("#filter-sort").value, limit: "100" });
  if ($("#filter-priority").value) q.set("priority", $("#filter-priority").value);
  if ($("#filter-tag").value.trim()) q.set("tags", $("#filter-tag").value.trim());
  if ($("#filter-search").value.trim()) q.set("q", $("#filter-search").value.trim());
  return q;
}

// loadTasks shows the list as the API has it now. Loads overlap (a click,
// then each event, asks for one): an answer that arrives after a later
// load's request was sent is older than that one's and is dropped, so a
// slow answer never paints over a newer list.
async function loadTasks() {
  const load = ++state.loads;
  try {
    const { data } = await api("GET", userPath() + "/tasks?" + query());
    if (load !== state.loads) return;
    state.tasks = data;
    $("#list-error").textContent = "";
    render();
  } catch (e) {
    if (e.status === 401) return signOut();
    if (load === state.loads) $("#list-error").textContent = e.message;
  }
}

// reloadSoon coalesces the reloads a burst of events asks for.
function reloadSoon() {
  clearTimeout(state.reload);
  state.reload = setTimeout(loadTasks, 80);
}

// shownZone is zone if this browser knows it, else UTC: one task with a zone
// the browser does not know must not keep the list from showing.
function shownZone(zone) {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone || "UTC" });
    return zone || "UTC";
  } catch {
    return "UTC";
  }
}

function formatDue(t) {
  if (!t.due_date) return "";
  return new Intl.DateTimeFormat(undefined, {
    timeZone: shownZone(t.timezone), weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit",
  }).format(new Date(t.due_date)) + (t.timezone && t.timezone !== browserZone ? " (" + t.timezone + ")" : "");
}

function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") n.className = v; else if (k.startsWith("on")) n.addEventListener(k.slice(2), v); else n.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) n.append(c);
  return n;
}

function render() {
  const list = $("#tasks");
  list.replaceChildren();
  const now = Date.now();
  for (const t of state.tasks) {
    const overdue = !t.completed && t.due_date && new Date(t.due_date).getTime() < now;
    const box = el("input", { type: "checkbox", "aria-label": (t.completed ? "Reopen " : "Complete ") + t.title });
    box.checked = t.completed;
    box.addEventListener("change", () => setCompleted(t, box.checked));
    const meta = el("p", { class: "meta" },
      t.due_date ? el("span", { class: "due" + (overdue ? " overdue" : "") }, (overdue ? "overdue · " : "") + formatDue(t)) : null,
      el("span", { class: "badge priority-" + t.priority }, t.priority),
      t.recurring_type !== "none" ? el("span", { class: "badge" }, "repeats " + t.recurring_type) : null,
      ...t.tags.map((g) => el("span", { class: "tag" }, "#" + g)));
    const item = el("li", { class: "task" + (t.completed ? " done" : "") + (overdue ? " overdue" : ""), "data-id": t.id,
      "data-due": t.due_date ? wallClock(t.due_date, t.timezone || "UTC") : "" },
      box,
      el("div", { class: "body" }, el("p", { class: "title" }, t.title), t.description ? el("p", { class: "desc" }, t.description) : null, meta),
      el("div", { class: "actions" },
        el("button", { type: "button", onclick: () => openForm(t) }, "Edit"),
        t.recurring_type !== "none" || t.parent_task_id ? el("button", { type: "button", onclick: () => showChain(t) }, "Series") : null,
        el("button", { type: "button", class: "danger", onclick: () => removeTask(t) }, "Delete")));
    list.append(item);
  }
  $("#empty").hidden = state.tasks.length > 0;
}

async function setCompleted(t, completed) {
  try {
    await api("PATCH", userPath() + "/tasks/" + t.id + "/complete", { completed });
  } catch (e) {
    $("#list-error").textContent = e.message;
  }
  loadTasks();
}

async function removeTask(t) {
  if (!confirm('Delete "' + t.title + '"?')) return;
  try {
    await api("DELETE", userPath() + "/tasks/" + t.id);
  } catch (e) {
    $("#list-error").textContent = e.message;
  }
  loadTasks();
}

async function showChain(t) {
  const { data } = await api("GET", userPath() + "/tasks/" + t.id + "/chain");
  $("#chain").replaceChildren(...data.map((c) => el("li", {}, c.title + " — " + (formatDue(c) || "no due date") + (c.completed ? " ✓" : ""))));
  $("#chain-dialog").showModal();
}

// ---- the form ----
// wallClock is an instant as YYYY-MM-DDTHH:MM in a time zone.
function wallClock(iso, zone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
    timeZone: shownZone(zone), year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

function openForm(t) {
  state.editing = t || null;
  const f = $("#task-form");
  f.reset();
  for (const s of f.querySelectorAll(".error")) s.textContent = "";
  $("#task-dialog-title").textContent = t ? "Edit task" : "New task";
  $("#f-timezone").value = (t && t.timezone) || browserZone;
  if (t) {
    $("#f-title").value = t.title;
    $("#f-description").value = t.description;
    $("#f-priority").value = t.priority;
    $("#f-tags").value = t.tags.join(", ");
    $("#f-due").value = t.due_date ? wallClock(t.due_date, t.timezone || "UTC") : "";
    $("#f-recurring").value = t.recurring_type;
    $("#f-basis").value = t.recurrence_basis;
    $("#f-end").value = t.recurring_end_date ? wallClock(t.recurring_end_date, t.timezone || "UTC").slice(0, 10) : "";
  }
  preview();
  $("#task-dialog").showModal();
  $("#f-title").focus();
}

function formBody() {
  const body = {
    title: $("#f-title").value,
    description: $("#f-description").value,
    priority: $("#f-priority").value,
    tags: $("#f-tags").value.split(",").map((s) => s.trim()).filter(Boolean),
    timezone: $("#f-timezone").value,
    recurring_type: $("#f-recurring").value,
    recurrence_basis: $("#f-basis").value,
    due_date: $("#f-due").value || null,
    recurring_end_date: $("#f-end").value || null,
  };
  return body;
}

async function save(ev) {
  ev.preventDefault();
  const f = $("#task-form");
  for (const s of f.querySelectorAll(".error")) s.textContent = "";
  try {
    if (state.editing) {
      await api("PATCH", userPath() + "/tasks/" + state.editing.id, formBody());
    } else {
      await api("POST", userPath() + "/tasks", formBody(), { "Idempotency-Key": crypto.randomUUID() });
    }
    $("#task-dialog").close();
    loadTasks();
  } catch (e) {
    const slot = e.field && f.querySelector(`.error[data-for="${e.field}"]`);
    (slot || $("#form-error")).textContent = e.message;
    const input = e.field && f.querySelector(`[name="${e.field}"]`);
    if (input) input.focus();
  }
}

// preview shows the next three due dates in words: calendar steps on the
// wall clock of the task's zone, month ends clamped, as the server counts.
function preview() {
  const kind = $("#f-recurring").value, due = $("#f-due").value;
  if (kind === "none" || !due) { $("#preview").textContent = ""; return; }
  const [d, time] = due.split("T");
  const [y, m, day] = d.split("-").map(Number);
  const end = $("#f-end").value;
  const out = [];
  for (let i = 1; out.length < 3 && i < 400; i++) {
    let yy = y, mm = m, dd = day;
    if (kind === "daily" || kind === "weekly") {
      const t = new Date(Date.UTC(y, m - 1, day + i * (kind === "daily" ? 1 : 7)));
      yy = t.getUTCFullYear(); mm = t.getUTCMonth() + 1; dd = t.getUTCDate();
    } else {
      const months = (m - 1) + i * (kind === "monthly" ? 1 : 12);
      yy = y + Math.floor(months / 12); mm = (months % 12) + 1;
      dd = Math.min(day, new Date(Date.UTC(yy, mm, 0)).getUTCDate());
    }
    const iso = `${yy}-${String(mm).padStart(2, "0")}-${String(dd).padStart(2, "0")}`;
    if (end && iso > end) break;
    out.push(new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
      .format(new Date(Date.UTC(yy, mm - 1, dd))) + " " + time);
  }
  const basis = $("#f-basis").value === "completion" ? ", if each is completed on its due date" : "";
  $("#preview").textContent = out.length
    ? `Next: ${out.join("; ")} (${$("#f-timezone").value})${basis}.`
    : "No further occurrence before the end date.";
}

// ---- the live stream ----
// connect reads the user's event stream with fetch (so the token travels in
// a header, never in the URL) and resumes after a drop from the last event
// id it saw.
async function connect() {
  const ctl = new AbortController();
  state.stream = ctl;
  const headers = { Authorization: "Bearer " + session.token, Accept: "text/event-stream" };
  if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
  try {
    const res = await fetch(userPath() + "/events", { headers, signal: ctl.signal });
    if (res.status === 401) return signOut();
    if (res.status === 429 || res.status === 503) {
      // Too many pages of this user (or of everyone) are open: wait as told.
      $("#live").textContent = res.status === 429 ? "paused: too many open pages" : "paused: server busy";
      $("#live").classList.remove("on");
      setTimeout(connect, 1000 * (parseInt(res.headers.get("Retry-After"), 10) || 30));
      return;
    }
    if (!res.ok) throw new Error("stream " + res.status);
    $("#live").textContent = "live";
    $("#live").classList.add("on");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        dispatch(buf.slice(0, i));
        buf = buf.slice(i + 2);
      }
    }
  } catch (e) {
    if (ctl.signal.aborted) return;
  }
  $("#live").textContent = "reconnecting";
  $("#live").classList.remove("on");
  setTimeout(connect, 1000);
}

function dispatch(block) {
  let event = "message", data = "", id = "";
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const [k, ...rest] = line.split(":");
    const v = rest.join(":").replace(/^ /, "");
    if (k === "event") event = v; else if (k === "data") data += v; else if (k === "id") id = v;
  }
  if (id) state.lastEventId = id;
  if (event === "reset") return reloadSoon();
  if (event !== "task") return;
  const e = JSON.parse(data);
  const what = e.type.replace("com.todo.task.", "");
  const at = new Date(e.time).toLocaleTimeString();
  $("#activity").prepend(el("li", { class: "event " + what }, el("time", {}, at), " ", el("strong", {}, what), " ", e.title || e.task_id));
  while ($("#activity").children.length > 50) $("#activity").lastChild.remove();
  reloadSoon();
}

// ---- start ----
function start() {
  $("#sign-in-view").hidden = true;
  $("#app-view").hidden = false;
  $("#who").hidden = false;
  $("#who-name").textContent = session.user;
  loadTasks();
  connect();
}

document.addEventListener("DOMContentLoaded", () => {
  const zones = (Intl.supportedValuesOf && Intl.supportedValuesOf("timeZone")) || [browserZone];
  if (!zones.includes("UTC")) zones.unshift("UTC");
  $("#f-timezone").replaceChildren(...zones.map((z) => el("option", { value: z }, z)));
  $("#sign-in").addEventListener("submit", signIn);
  $("#sign-out").addEventListener("click", signOut);
  $("#new-task").addEventListener("click", () => openForm(null));
  $("#task-form").addEventListener("submit", save);
  $("#cancel").addEventListener("click", () => $("#task-dialog").close());
  for (const id of ["#f-recurring", "#f-due", "#f-end", "#f-basis", "#f-timezone"]) $(id).addEventListener("input", preview);
  for (const b of document.querySelectorAll(".tabs button")) {
    b.addEventListener("click", () => {
      state.status = b.dataset.status;
      for (const o of document.querySelectorAll(".tabs button")) o.setAttribute("aria-pressed", String(o === b));
      loadTasks();
    });
  }
  for (const id of ["#filter-priority", "#filter-sort"]) $(id).addEventListener("change", loadTasks);
  for (const id of ["#filter-tag", "#filter-search"]) $(id).addEventListener("input", reloadSoon);
  if (session.token) start();
});
