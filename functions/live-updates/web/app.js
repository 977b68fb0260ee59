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
const state = { status: "pending", tasks: [], editing: null, lastEventId: "", lastReminderId: "", stream: null, reload: 0, loads: 0,
  remindersShown: new Set() };
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
    state.tasks = data.tasks;
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
      t.status === "skipped" ? el("span", { class: "badge skipped" }, "skipped") : null,
      t.recurring_type !== "none" ? el("span", { class: "badge", title: t.recurrence_rule || "" },
        "repeats " + (t.recurrence_rule ? "by rule" : t.recurring_type) + (t.occurrence ? " · #" + t.occurrence : "")) : null,
      ...t.tags.map((g) => el("span", { class: "tag" }, "#" + g)),
      ...(t.reminders || []).map((r) => el("span", { class: "badge reminder " + r.state, title: "remind at " + r.remind_at },
        "\u23F0 " + (r.before ? r.before + " before" : wallClock(r.at, t.timezone || "UTC").replace("T", " ")) + " \u00B7 " + r.state)));
    const item = el("li", { class: "task" + (t.completed ? " done" : "") + (overdue ? " overdue" : ""), "data-id": t.id,
      "data-due": t.due_date ? wallClock(t.due_date, t.timezone || "UTC") : "" },
      box,
      el("div", { class: "body" }, el("p", { class: "title" }, t.title), t.description ? el("p", { class: "desc" }, t.description) : null, meta),
      el("div", { class: "actions" },
        el("button", { type: "button", onclick: () => openForm(t) }, "Edit"),
        t.recurring_type !== "none" && (t.status === "pending" || t.status === "in_progress")
          ? el("button", { type: "button", onclick: () => skipTask(t) }, "Skip") : null,
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

async function skipTask(t) {
  try {
    await api("POST", userPath() + "/tasks/" + t.id + "/skip");
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
    $("#f-reminders").value = (t.reminders || []).filter((r) => r.before).map((r) => r.before).join(", ");
    $("#f-due").value = t.due_date ? wallClock(t.due_date, t.timezone || "UTC") : "";
    $("#f-recurring").value = t.recurring_type;
    $("#f-basis").value = t.recurrence_basis;
    $("#f-end").value = t.recurring_end_date ? wallClock(t.recurring_end_date, t.timezone || "UTC").slice(0, 10) : "";
  }
  fillEditor(t);
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
    // The form edits the reminders before the due date; those at a fixed
    // time (set through the API) are kept as they are.
    reminders: [
      ...((state.editing && state.editing.reminders) || []).filter((r) => r.at).map((r) => ({ at: r.at })),
      ...$("#f-reminders").value.split(",").map((s) => s.trim()).filter(Boolean).map((before) => ({ before })),
    ],
    timezone: $("#f-timezone").value,
    recurrence_basis: $("#f-basis").value,
    due_date: $("#f-due").value || null,
    ...recurrenceFields(),
  };
  return body;
}

// recurrenceFields is the series as the API takes it: a plain
// recurring_type, or a rule (which carries its frequency); an empty rule
// and end date clear what an edited task had.
function recurrenceFields() {
  const rule = $("#f-rule").value.trim();
  const end = $("#f-ends").value === "date" ? $("#f-end").value : "";
  return rule
    ? { recurrence_rule: rule, recurring_end_date: end }
    : { recurring_type: $("#f-recurring").value, recurrence_rule: "", recurring_end_date: end };
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
    // reminders[1].before is reported beside reminders.
    const slot = e.field && (f.querySelector(`.error[data-for="${e.field}"]`) ||
      f.querySelector(`.error[data-for="${e.field.split(/[.[]/)[0]}"]`));
    (slot || $("#form-error")).textContent = e.message;
    const input = e.field && f.querySelector(`[name="${e.field}"]`);
    if (input) input.focus();
  }
}

// ---- the recurrence editor ----
// The choices build an RFC 5545 rule; the server reads it, says it in words
// and computes the dates (POST …/recurrence/preview): the page has no
// calendar arithmetic of its own.
const units = { daily: "day", weekly: "week", monthly: "month", yearly: "year" };

// editorRule is the rule the choices make, or "" when the plain frequency
// says it all (every 1, on the due date's day, no count).
function editorRule() {
  const kind = $("#f-recurring").value;
  if (kind === "none") return "";
  const parts = [];
  const every = Math.max(1, parseInt($("#f-interval").value, 10) || 1);
  if (every > 1) parts.push("INTERVAL=" + every);
  if ($("#f-ends").value === "count") parts.push("COUNT=" + Math.max(1, parseInt($("#f-count").value, 10) || 1));
  if (kind === "weekly") {
    const days = [...document.querySelectorAll('#f-weekdays [aria-pressed="true"]')].map((b) => b.dataset.day);
    if (days.length) parts.push("BYDAY=" + days.join(","));
  }
  const on = $("#f-on").value;
  if ((kind === "monthly" || kind === "yearly") && on !== "same") {
    const due = $("#f-due").value;
    if (kind === "yearly" && due) parts.push("BYMONTH=" + Number(due.slice(5, 7)));
    if (on === "day") parts.push("BYMONTHDAY=" + (parseInt($("#f-monthday").value, 10) || 1));
    if (on === "last") parts.push("BYMONTHDAY=-1");
    if (on === "nth") {
      const nth = $("#f-nth").value, day = $("#f-nthday").value;
      parts.push(...(day === "WD" ? ["BYDAY=MO,TU,WE,TH,FR", "BYSETPOS=" + nth] : ["BYDAY=" + nth + day]));
    }
  }
  return parts.length ? ["FREQ=" + kind.toUpperCase(), ...parts].join(";") : "";
}

// showEditor shows the choices that apply and the rule they make.
function showEditor(fromChoices) {
  const box = $("#f-repeat"), kind = $("#f-recurring").value;
  box.dataset.kind = kind;
  box.dataset.on = $("#f-on").value;
  box.dataset.ends = $("#f-ends").value;
  const every = parseInt($("#f-interval").value, 10) || 1;
  $("#f-unit").textContent = (units[kind] || "time") + (every === 1 ? "" : "s");
  if (fromChoices) $("#f-rule").value = editorRule();
}

// fillEditor sets the choices from a task's rule; a rule the choices cannot
// show stays as typed in the rule field.
function fillEditor(t) {
  for (const b of document.querySelectorAll("#f-weekdays button")) b.setAttribute("aria-pressed", "false");
  $("#f-interval").value = 1;
  $("#f-on").value = "same";
  $("#f-ends").value = t && t.recurring_end_date ? "date" : "never";
  $("#f-rule").value = (t && t.recurrence_rule) || "";
  if (t && t.recurrence_rule) {
    const p = Object.fromEntries(t.recurrence_rule.split(";").map((x) => x.split("=")));
    if (p.INTERVAL) $("#f-interval").value = p.INTERVAL;
    if (p.COUNT) { $("#f-ends").value = "count"; $("#f-count").value = p.COUNT; }
    const days = p.BYDAY ? p.BYDAY.split(",") : [];
    if (p.FREQ === "WEEKLY") {
      for (const b of document.querySelectorAll("#f-weekdays button")) b.setAttribute("aria-pressed", String(days.includes(b.dataset.day)));
    } else if (p.BYMONTHDAY === "-1") {
      $("#f-on").value = "last";
    } else if (p.BYMONTHDAY && !p.BYDAY) {
      $("#f-on").value = "day"; $("#f-monthday").value = p.BYMONTHDAY;
    } else if (p.BYSETPOS && p.BYDAY === "MO,TU,WE,TH,FR") {
      $("#f-on").value = "nth"; $("#f-nth").value = p.BYSETPOS; $("#f-nthday").value = "WD";
    } else if (days.length === 1 && /^-?\d/.test(days[0])) {
      $("#f-on").value = "nth"; $("#f-nth").value = days[0].slice(0, -2); $("#f-nthday").value = days[0].slice(-2);
    }
  }
  showEditor(false);
}

// preview asks the server, a quarter of a second after the last change,
// for the series in words and its next three due dates; only the newest
// answer is shown.
let previewTimer = 0, previewSeq = 0;
function preview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(showPreview, 250);
}

async function showPreview() {
  const seq = ++previewSeq;
  const fields = recurrenceFields();
  const slot = $('.error[data-for="recurrence_rule"]');
  if (!fields.recurrence_rule && fields.recurring_type === "none") {
    $("#preview").textContent = ""; slot.textContent = "";
    return;
  }
  const zone = $("#f-timezone").value;
  const body = { ...fields, recurrence_basis: $("#f-basis").value, due_date: $("#f-due").value || null, timezone: zone, limit: 3 };
  if (!body.recurrence_rule) delete body.recurrence_rule;
  if (!body.recurring_end_date) delete body.recurring_end_date;
  try {
    const { data } = await api("POST", userPath() + "/recurrence/preview", body);
    if (seq !== previewSeq) return;
    slot.textContent = "";
    const when = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: shownZone(zone) });
    const basis = $("#f-basis").value === "completion" ? ", if each is completed on its due date" : "";
    const said = data.text.charAt(0).toUpperCase() + data.text.slice(1);
    $("#preview").textContent = data.due_dates.length
      ? `${said}. Next: ${data.due_dates.map((d) => when.format(new Date(d))).join("; ")} (${zone})${basis}.`
      : `${said}. No further occurrence.`;
  } catch (e) {
    if (seq !== previewSeq) return;
    $("#preview").textContent = "";
    const target = e.field && document.querySelector(`#task-form .error[data-for="${e.field}"]`);
    (target || slot).textContent = e.message;
  }
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
  if (state.lastReminderId) headers["Last-Reminder-ID"] = state.lastReminderId;
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
  if (event === "reminder") return remind(JSON.parse(data));
  if (event !== "task") return;
  const e = JSON.parse(data);
  const what = e.type.replace("com.todo.task.", "");
  const at = new Date(e.time).toLocaleTimeString();
  $("#activity").prepend(el("li", { class: "event " + what }, el("time", {}, at), " ", el("strong", {}, what), " ", e.title || e.task_id));
  while ($("#activity").children.length > 50) $("#activity").lastChild.remove();
  reloadSoon();
}

// ---- reminders ----
// remind shows a reminder as it fires: a banner in the page and, once the
// user allowed it, a browser notification. A reminder the stream sends
// again after a reconnect is shown once.
function remind(e) {
  state.lastReminderId = e.id;
  const r = e.data || {};
  const key = r.reminder_id + "@" + r.remind_at;
  if (state.remindersShown.has(key)) return;
  state.remindersShown.add(key);
  const due = r.due_at ? "due " + new Date(r.due_at).toLocaleString() : "reminder";
  const text = (r.title || e.title || "A task") + " \u2014 " + due + (r.late ? " (late)" : "");
  const dismiss = el("button", { type: "button" }, "Dismiss");
  const note = el("div", { class: "reminder-note", "data-task": r.task_id || "" }, el("span", {}, "\u23F0 " + text), dismiss);
  dismiss.addEventListener("click", () => note.remove());
  $("#reminders-banner").prepend(note);
  while ($("#reminders-banner").children.length > 5) $("#reminders-banner").lastChild.remove();
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(r.title || "Reminder", { body: due, tag: key });
  }
  reloadSoon(); // the reminder's state on its task is now "sent"
}

function offerNotifications() {
  const b = $("#allow-notifications");
  if (!("Notification" in window) || Notification.permission !== "default") return;
  b.hidden = false;
  b.addEventListener("click", async () => {
    await Notification.requestPermission();
    b.hidden = true;
  }, { once: true });
}

// ---- start ----
function start() {
  $("#sign-in-view").hidden = true;
  $("#app-view").hidden = false;
  $("#who").hidden = false;
  $("#who-name").textContent = session.user;
  loadTasks();
  connect();
  offerNotifications();
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
  for (const id of ["#f-recurring", "#f-interval", "#f-on", "#f-monthday", "#f-nth", "#f-nthday", "#f-ends", "#f-count", "#f-due"]) {
    $(id).addEventListener("input", () => { showEditor(true); preview(); });
  }
  for (const id of ["#f-end", "#f-basis", "#f-timezone"]) $(id).addEventListener("input", preview);
  $("#f-rule").addEventListener("input", () => {
    // A typed rule: the choices follow its frequency, the rule stays as typed.
    const freq = /FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)/i.exec($("#f-rule").value);
    if (freq) $("#f-recurring").value = freq[1].toLowerCase();
    showEditor(false);
    preview();
  });
  for (const b of document.querySelectorAll("#f-weekdays button")) {
    b.addEventListener("click", () => {
      b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true"));
      showEditor(true);
      preview();
    });
  }
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
