// Perdure's web UI: plain JavaScript over the admin API of the node serving it (POST /query for
// invocations, journals and state; /services, /deployments, /cluster; PATCH /invocations/...).
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = !message;
}

// With an admin token configured (admin_token_file), every API call needs it: asked once on a
// 401, kept for this tab only (sessionStorage), sent as a bearer token like Restate's CLI does.
async function api(method, path, body, retried = false) {
  const init = { method, headers: { accept: "application/json" } };
  const token = sessionStorage.getItem("perdure-admin-token");
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && !retried) {
    const given = window.prompt("This node's admin API needs its token (admin_token_file):");
    if (given) {
      sessionStorage.setItem("perdure-admin-token", given.trim());
      return api(method, path, body, true);
    }
  }
  const text = await response.text();
  const doc = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${doc && doc.message ? doc.message : text}`);
  }
  return doc;
}

async function query(sql) {
  return (await api("POST", "/query", { query: sql })).rows;
}

const quote = (text) => `'${String(text).replace(/'/g, "''")}'`;

function hexToText(hex) {
  if (!hex) return "";
  const bytes = new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)));
  return new TextDecoder().decode(bytes);
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(table, items, render) {
  const body = $("tbody", table);
  body.replaceChildren();
  for (const item of items) {
    const row = document.createElement("tr");
    render(row, item);
    body.appendChild(row);
  }
  if (!items.length) {
    const row = document.createElement("tr");
    cell(row, "nothing to show").colSpan = $("thead tr", table).children.length;
    body.appendChild(row);
  }
}

function statusBadge(row, status) {
  const td = cell(row, "");
  const badge = document.createElement("span");
  badge.className = `status ${status}`;
  badge.textContent = status;
  td.appendChild(badge);
}

// --- invocations -------------------------------------------------------------------------

async function listInvocations() {
  const form = new FormData($("#invocation-filter"));
  const where = [];
  if (form.get("service")) where.push(`target_service_name = ${quote(form.get("service"))}`);
  if (form.get("key")) where.push(`target_service_key = ${quote(form.get("key"))}`);
  if (form.get("status")) where.push(`status = ${quote(form.get("status"))}`);
  const rows = await query(
    "SELECT id, target, status, created_at, retry_count, last_failure FROM sys_invocation" +
      (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
      " ORDER BY created_at DESC LIMIT 200"
  );
  fill($("#invocation-list"), rows, (row, inv) => {
    row.className = "row";
    row.dataset.id = inv.id;
    cell(row, inv.id, "mono");
    cell(row, inv.target);
    statusBadge(row, inv.status);
    cell(row, inv.created_at);
    cell(row, inv.retry_count);
    cell(row, inv.last_failure);
    row.addEventListener("click", () => describe(inv.id).catch((e) => showError(e.message)));
  });
}

async function describe(id) {
  const [inv] = await query(`SELECT * FROM sys_invocation WHERE id = ${quote(id)}`);
  if (!inv) throw new Error(`no invocation ${id}`);
  const detail = $("#invocation-detail");
  detail.hidden = false;
  detail.dataset.id = id;
  $("#detail-title").textContent = `${inv.target}  ·  ${id}`;
  $("#action-result").textContent = "";
  const fields = $("#detail-fields");
  fields.replaceChildren();
  const shown = [
    "status", "created_at", "modified_at", "completed_at", "retry_count", "next_retry_at",
    "last_failure", "last_failure_error_code", "pinned_deployment_id", "invoked_by_id",
    "idempotency_key", "completion_failure",
  ];
  for (const name of shown) {
    if (inv[name] === undefined || inv[name] === null) continue;
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = String(inv[name]);
    fields.append(dt, dd);
  }
  if (inv.completion_result !== undefined) {
    const dt = document.createElement("dt");
    dt.textContent = "result";
    const dd = document.createElement("dd");
    dd.className = "mono";
    dd.textContent = inv.completion_result;
    fields.append(dt, dd);
  }
  const journal = await query(
    "SELECT index, entry_type, name, completed, entry_json FROM sys_journal " +
      `WHERE id = ${quote(id)} ORDER BY index`
  );
  fill($("#journal"), journal, (row, entry) => {
    cell(row, entry.index);
    cell(row, entry.entry_type);
    cell(row, entry.name);
    cell(row, entry.completed);
    cell(row, entry.entry_json, "mono");
  });
}

async function act(op) {
  const id = $("#invocation-detail").dataset.id;
  try {
    await api("PATCH", `/invocations/${encodeURIComponent(id)}/${op}`);
    $("#action-result").textContent = `${op}: done`;
  } catch (e) {
    $("#action-result").textContent = e.message;
  }
  await describe(id);
  await listInvocations();
}

// --- services, state, cluster ---------------------------------------------------------------

async function listServices() {
  const { services } = await api("GET", "/services");
  fill($("#service-list"), services, (row, s) => {
    cell(row, s.name);
    cell(row, s.ty);
    cell(row, s.handlers.map((h) => h.name).join(", "));
    cell(row, s.revision);
    cell(row, s.deployment_id, "mono");
  });
  const { deployments } = await api("GET", "/deployments");
  fill($("#deployment-list"), deployments, (row, d) => {
    cell(row, d.id, "mono");
    cell(row, d.uri);
    cell(row, d.services.map((s) => s.name).join(", "));
    cell(row, d.created_at);
  });
}

async function showState() {
  const form = new FormData($("#state-filter"));
  const rows = await query(
    "SELECT key, value FROM state WHERE " +
      `service_name = ${quote(form.get("service"))} AND service_key = ${quote(form.get("key"))} ` +
      "ORDER BY key"
  );
  fill($("#state-list"), rows, (row, entry) => {
    cell(row, entry.key);
    cell(row, hexToText(entry.value), "mono");
  });
}

async function showCluster() {
  const doc = await api("GET", "/cluster");
  fill($("#node-list"), doc.nodes, (row, n) => {
    cell(row, n.name);
    cell(row, n.address, "mono");
    cell(row, n.alive ? "yes" : "no");
    cell(row, n.ingress);
    cell(row, n.admin);
  });
  fill($("#partition-list"), doc.partitions, (row, p) => {
    cell(row, p.id);
    cell(row, p.raft_group);
    cell(row, p.leader);
    cell(row, p.term);
    cell(row, p.applied);
  });
}

// --- wiring ----------------------------------------------------------------------------------

const loaders = {
  invocations: listInvocations,
  services: listServices,
  state: async () => {},
  cluster: showCluster,
};

function open(tab) {
  for (const button of document.querySelectorAll("nav button")) {
    button.classList.toggle("active", button.dataset.tab === tab);
  }
  for (const section of document.querySelectorAll(".tab")) {
    section.classList.toggle("active", section.id === tab);
  }
  showError("");
  loaders[tab]().catch((e) => showError(e.message));
}

function submitted(form, action) {
  $(form).addEventListener("submit", (event) => {
    event.preventDefault();
    showError("");
    action().catch((e) => showError(e.message));
  });
}

for (const button of document.querySelectorAll("nav button")) {
  button.addEventListener("click", () => open(button.dataset.tab));
}
for (const button of document.querySelectorAll("#invocation-detail .actions button")) {
  button.addEventListener("click", () => act(button.dataset.op));
}
submitted("#invocation-filter", listInvocations);
submitted("#state-filter", showState);
api("GET", "/version")
  .then((v) => ($("#version").textContent = `server ${v.version}`))
  .catch(() => {});
open("invocations");
