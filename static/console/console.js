// Staff console: a small vanilla ES module, no build step.
//
// Every page renders a shell (templates/console/*.html); this module fetches its data from /api/console/… and
// keeps it live over /ws/console/. The websocket sends events with ids; the last id seen is kept in
// sessionStorage and, after a reconnect (exponential backoff), {"type": "resume", "after": id} replays what was
// missed. Events are deduplicated by event id, messages by message id, so nothing is shown twice.
//
// UI strings go through Django's JavaScriptCatalog (window.gettext / ngettext / interpolate).

const gettext = window.gettext || ((s) => s);
const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
const interpolate = window.interpolate || ((fmt, obj) => fmt.replace(/%\((\w+)\)s/g, (_, k) => String(obj[k])));

const root = document.getElementById("main");
const cfg = root ? root.dataset : {};
const USER_ID = Number(cfg.userId);
const IS_ADMIN = cfg.isAdmin === "true";
const API = cfg.apiRoot || "/api/console/";
const LAST_EVENT_KEY = `console.lastEventId.${cfg.tenant || ""}`;
// Ids are taken when a transaction starts and seen when it commits, so event N may commit after N+1: a resume
// starts this many ids back (replayed events are deduplicated by id, and re-applying one changes nothing).
const RESUME_MARGIN = 50;
const lang = document.documentElement.lang || "es";

// --- labels -------------------------------------------------------------------------------------------------------
const STATUS_LABELS = {
  bot: gettext("With the bot"),
  pending_human: gettext("Waiting for staff"),
  human: gettext("With staff"),
  closed: gettext("Closed"),
};
const CHANNEL_LABELS = {
  whatsapp: "WhatsApp",
  sms: "SMS",
  email: gettext("E-mail"),
  webchat: gettext("Web chat"),
};
const REASON_LABELS = {
  human_handoff: gettext("Asked for a person"),
  complaint: gettext("Complaint"),
  repeated_fallback: gettext("The bot did not understand"),
  urgent_after_hours: gettext("Urgent, after hours"),
  urgent: gettext("Urgent"),
  several_rooms: gettext("Several rooms"),
  info_unavailable: gettext("Information not available"),
  late_checkout_request: gettext("Late check-out request"),
  early_checkin_request: gettext("Early check-in request"),
  service_request: gettext("Service request"),
  booking_extra: gettext("Extra for a booking"),
  booking_lookup: gettext("Booking without its reference"),
  booking_outcome_unknown: gettext("Booking to verify in the PMS"),
  pms_unavailable: gettext("Booking system unavailable"),
};
const SENDER_LABELS = {
  guest: gettext("Guest"),
  bot: gettext("Bot"),
  staff: gettext("Staff"),
  system: gettext("System"),
};
const DELIVERY = {
  queued: { mark: "◷", label: gettext("Queued") },
  sent: { mark: "✓", label: gettext("Sent") },
  delivered: { mark: "✓✓", label: gettext("Delivered") },
  read: { mark: "✓✓", label: gettext("Read") },
  failed: { mark: "!", label: gettext("Not delivered") },
};
const STATUS_RANK = { queued: 0, sent: 1, failed: 2, delivered: 3, read: 4 };
const LANGUAGE_NAMES = { es: gettext("Spanish"), en: gettext("English"), pt: gettext("Portuguese") };

const statusLabel = (s) => STATUS_LABELS[s] || s || "—";
const channelLabel = (c) => CHANNEL_LABELS[c] || c || "—";
// "pms_unavailable:create_booking" and the like: the reason's family names it, the operation is detail.
const reasonLabel = (r) => (r ? REASON_LABELS[r] || REASON_LABELS[r.split(":")[0]] || r.replace(/_/g, " ") : "—");
// A web-chat guest's address is a 46-character digest of its browser token: the first characters tell guests apart.
const shortAddress = (a) => (a && a.startsWith("wc_") && a.length > 14 ? `${a.slice(0, 11)}…` : a || "");
const languageLabel = (l) => (l ? LANGUAGE_NAMES[l] || l : "—");

// --- small helpers ------------------------------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function cookie(name) {
  const match = document.cookie.split("; ").find((row) => row.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.split("=")[1]) : "";
}

function newKey() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class ApiError extends Error {
  constructor(status, data) {
    super((data && (data.detail || data.error)) || `HTTP ${status}`);
    this.status = status;
    this.data = data || {};
  }
}

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET") {
    init.headers["X-CSRFToken"] = cookie("csrftoken");
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body || {});
  }
  const response = await fetch(API + path, init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function errorText(error) {
  if (!(error instanceof ApiError)) return gettext("Network error. Check the connection and try again.");
  const codes = {
    held_by_other: gettext("Another staff member is handling this conversation."),
    closed: gettext("This conversation is closed."),
    not_allowed: gettext("Only the staff member handling it or a hotel admin can do that."),
    claim_first: gettext("Claim the conversation before replying."),
    no_active_hotel: gettext("Pick the hotel you are working for."),
  };
  if (error.data && codes[error.data.error]) return codes[error.data.error];
  if (error.status === 404) return gettext("Not found.");
  if (error.status === 403) return gettext("You are not allowed to do that. Your session may have ended.");
  if (error.data && typeof error.data.detail === "string") return error.data.detail;
  if (error.data && typeof error.data === "object") {
    const first = Object.values(error.data).flat()[0];
    if (typeof first === "string") return first;
  }
  return gettext("Something went wrong. Try again.");
}

let toastTimer = null;
function toast(message, { error = false } = {}) {
  const node = document.getElementById("toast");
  if (!node) return;
  node.textContent = message;
  node.classList.toggle("error", error);
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 5000);
}

const timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });

function formatWhen(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  const today = new Date();
  return date.toDateString() === today.toDateString() ? timeFormat.format(date) : dateTimeFormat.format(date);
}

function formatWaiting(sinceIso) {
  const seconds = Math.max(0, Math.floor((Date.now() - new Date(sinceIso).getTime()) / 1000));
  if (seconds < 60) return interpolate(ngettext("%(n)s second", "%(n)s seconds", seconds), { n: seconds }, true);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return interpolate(ngettext("%(n)s min", "%(n)s min", minutes), { n: minutes }, true);
  const hours = Math.floor(minutes / 60);
  return interpolate(gettext("%(h)s h %(m)s min"), { h: hours, m: minutes % 60 }, true);
}

function tickWaiting() {
  for (const cell of document.querySelectorAll("[data-waiting-since]")) {
    cell.textContent = formatWaiting(cell.dataset.waitingSince);
    const minutes = (Date.now() - new Date(cell.dataset.waitingSince).getTime()) / 60000;
    cell.classList.toggle("long", minutes >= 10);
  }
}

function conversationUrl(id) {
  return (cfg.conversationUrl || "/console/c/00000000-0000-0000-0000-000000000000/").replace(
    "00000000-0000-0000-0000-000000000000",
    id,
  );
}

// Conversation state only moves forward: an event older than what we already show is ignored. A
// conversation.updated event is stored in the same transaction as the change, so its time is never earlier than
// the conversation's updated_at of that change.
const conversationStamps = new Map();
function isFresh(conversationId, at) {
  if (!at) return true;
  const known = conversationStamps.get(conversationId);
  const time = new Date(at).getTime();
  if (known !== undefined && time < known) return false;
  conversationStamps.set(conversationId, time);
  return true;
}

// --- live connection ----------------------------------------------------------------------------------------------
class LiveConnection {
  constructor({ onEvent, onResumed, onError }) {
    this.onEvent = onEvent;
    this.onResumed = onResumed || (() => {});
    this.onError = onError || (() => {});
    this.attempt = 0;
    this.socket = null;
    this.subscriptions = new Set();
    this.seen = new Set();
    this.heartbeatSeconds = 25;
    this.lastSeenAt = Date.now();
    this.stopped = false;
    this.statusNode = document.getElementById("live-status");
    window.addEventListener("online", () => this.reconnectNow());
    setInterval(() => this.watchdog(), 5000);
  }

  get lastEventId() {
    return Number(sessionStorage.getItem(LAST_EVENT_KEY) || 0);
  }

  set lastEventId(value) {
    if (value > this.lastEventId) sessionStorage.setItem(LAST_EVENT_KEY, String(value));
  }

  setStatus(state) {
    if (!this.statusNode) return;
    const labels = { live: gettext("Live"), connecting: gettext("Connecting…"), offline: gettext("Offline") };
    this.statusNode.dataset.state = state;
    this.statusNode.textContent = labels[state];
  }

  start(afterId) {
    sessionStorage.setItem(LAST_EVENT_KEY, String(afterId || 0));
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    this.setStatus("connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${cfg.wsPath || "/ws/console/"}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.lastSeenAt = Date.now();
      this.send({ type: "resume", after: Math.max(0, this.lastEventId - RESUME_MARGIN) });
      for (const conversation of this.subscriptions) this.send({ type: "subscribe", conversation });
    });
    socket.addEventListener("message", (message) => this.receive(message));
    socket.addEventListener("close", (event) => this.closed(socket, event));
  }

  send(payload) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(payload));
  }

  subscribe(conversationId) {
    this.subscriptions.add(conversationId);
    this.send({ type: "subscribe", conversation: conversationId });
  }

  receive(message) {
    this.lastSeenAt = Date.now();
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    switch (data.type) {
      case "hello":
        this.heartbeatSeconds = Number(data.heartbeat) || 25;
        break;
      case "event": {
        const event = data.event;
        if (!event || this.seen.has(event.id)) return;
        this.seen.add(event.id);
        this.lastEventId = event.id;
        this.onEvent(event);
        break;
      }
      case "resumed":
        this.attempt = 0;
        this.setStatus("live");
        this.onResumed();
        break;
      case "resync":
        // Too far behind to replay: reload the page's data, continue from the newest event.
        location.reload();
        break;
      case "error":
        this.onError(data);
        break;
      default:
        break;
    }
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.setStatus("offline");
    if (event.code === 4403) {
      // Logged out, removed from the hotel or no hotel picked: the page itself will say where to go.
      this.stopped = true;
      toast(gettext("You no longer have access to this hotel's console. Reloading…"), { error: true });
      setTimeout(() => location.reload(), 3000);
      return;
    }
    const delay = Math.min(30000, 1000 * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped) return;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.connect();
  }

  watchdog() {
    // No heartbeat for 2.5 intervals: the connection is dead even if the browser has not noticed yet.
    const silentFor = Date.now() - this.lastSeenAt;
    if (this.socket && this.socket.readyState === WebSocket.OPEN && silentFor > this.heartbeatSeconds * 2500) {
      this.socket.close();
    }
  }
}

// --- queue (shared by every page: the nav badge) ------------------------------------------------------------------
const queue = {
  rows: new Map(), // conversation id -> {conversation, since}

  async load() {
    const data = await api("conversations/?status=pending_human");
    this.rows.clear();
    for (const conversation of data.results) {
      this.rows.set(conversation.id, { conversation, since: conversation.updated_at || conversation.created_at });
      conversationStamps.set(conversation.id, new Date(conversation.updated_at || 0).getTime());
    }
    this.total = data.count ?? data.results.length;
    this.render();
  },

  apply(conversation, at) {
    const existing = this.rows.get(conversation.id);
    if (conversation.status === "pending_human") {
      if (existing) existing.conversation = { ...existing.conversation, ...conversation };
      else this.rows.set(conversation.id, { conversation, since: at || new Date().toISOString(), fresh: true });
    } else if (existing) {
      this.rows.delete(conversation.id);
    } else {
      return;
    }
    this.render();
  },

  render() {
    const badge = document.getElementById("queue-count");
    if (badge) badge.textContent = this.rows.size ? String(this.rows.size) : "";
    const body = document.getElementById("queue-body");
    if (!body) return;
    document.getElementById("queue-loading").hidden = true;
    document.getElementById("queue-empty").hidden = this.rows.size > 0;
    const ordered = [...this.rows.values()].sort((a, b) => new Date(a.since) - new Date(b.since));
    body.replaceChildren(
      ...ordered.map((row) => {
        const c = row.conversation;
        const tr = el(
          "tr",
          { dataset: { testid: "queue-row", conversation: c.id }, class: row.fresh ? "fresh" : null },
          el(
            "td",
            { class: "guest-cell" },
            el("strong", { text: c.guest?.name || shortAddress(c.guest?.address) || gettext("Guest") }),
            el("span", { text: shortAddress(c.guest?.address) }),
          ),
          el("td", {}, el("span", { class: "badge channel", text: channelLabel(c.channel) })),
          el("td", { text: reasonLabel(c.escalation_reason), dataset: { testid: "queue-reason" } }),
          el("td", { class: "waiting", dataset: { waitingSince: row.since, testid: "queue-waiting" } }),
          el(
            "td",
            {},
            el("a", { class: "button", href: conversationUrl(c.id), dataset: { testid: "queue-open" } }, gettext("Open")),
          ),
        );
        row.fresh = false;
        return tr;
      }),
    );
    tickWaiting();
  },
};

// --- conversations list -------------------------------------------------------------------------------------------
const list = {
  page: 1,
  rows: new Map(),

  init() {
    const form = document.getElementById("filters");
    const params = new URLSearchParams(location.search);
    for (const name of ["status", "channel", "assignee", "q"]) {
      if (params.has(name)) form.elements[name].value = params.get(name);
    }
    this.page = Number(params.get("page") || 1);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.page = 1;
      this.load();
    });
    for (const select of form.querySelectorAll("select")) select.addEventListener("change", () => form.requestSubmit());
    document.getElementById("page-prev").addEventListener("click", () => {
      this.page -= 1;
      this.load();
    });
    document.getElementById("page-next").addEventListener("click", () => {
      this.page += 1;
      this.load();
    });
  },

  filters() {
    const form = document.getElementById("filters");
    const params = new URLSearchParams();
    for (const name of ["status", "channel", "assignee", "q"]) {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    return params;
  },

  async load() {
    const params = this.filters();
    if (this.page > 1) params.set("page", String(this.page));
    history.replaceState(null, "", `${location.pathname}${params.toString() ? `?${params}` : ""}`);
    document.getElementById("conversations-loading").hidden = false;
    try {
      const data = await api(`conversations/?${params}`);
      this.rows = new Map(data.results.map((c) => [c.id, c]));
      for (const c of data.results) conversationStamps.set(c.id, new Date(c.updated_at || 0).getTime());
      this.count = data.count ?? data.results.length;
      document.getElementById("page-prev").disabled = !data.previous;
      document.getElementById("page-next").disabled = !data.next;
      const pages = Math.max(1, Math.ceil(this.count / 50));
      document.getElementById("page-info").textContent = interpolate(
        gettext("Page %(page)s of %(pages)s"),
        { page: this.page, pages },
        true,
      );
      this.render();
    } catch (error) {
      toast(errorText(error), { error: true });
    } finally {
      document.getElementById("conversations-loading").hidden = true;
    }
  },

  matches(conversation) {
    const filters = this.filters();
    if (filters.has("q")) return false; // the server searches; do not guess
    if (filters.get("status") && filters.get("status") !== conversation.status) return false;
    if (filters.get("channel") && filters.get("channel") !== conversation.channel) return false;
    const assignee = filters.get("assignee");
    if (assignee === "me" && conversation.assignee !== USER_ID) return false;
    if (assignee === "none" && conversation.assignee !== null) return false;
    return true;
  },

  applyConversation(conversation) {
    const existing = this.rows.get(conversation.id);
    if (existing) {
      const assigneeName = existing.assignee === conversation.assignee ? existing.assignee_name : null;
      this.rows.set(conversation.id, { ...existing, ...conversation, assignee_name: assigneeName });
    } else if (this.page === 1 && this.matches(conversation)) {
      this.rows = new Map([[conversation.id, conversation], ...this.rows]);
    } else {
      return;
    }
    this.render();
  },

  applyMessage(message) {
    if (message.is_internal) return;
    const existing = this.rows.get(message.conversation);
    if (!existing) return;
    existing.last_message_text = message.text;
    existing.last_message_at = message.created_at;
    if (this.page === 1 && !this.filters().get("status")?.startsWith("pending")) {
      this.rows.delete(existing.id);
      this.rows = new Map([[existing.id, existing], ...this.rows]);
    }
    this.render();
  },

  render() {
    const body = document.getElementById("conversations-body");
    document.getElementById("conversations-empty").hidden = this.rows.size > 0;
    body.replaceChildren(
      ...[...this.rows.values()].map((c) =>
        el(
          "tr",
          { dataset: { testid: "conversation-row", conversation: c.id } },
          el(
            "td",
            { class: "guest-cell" },
            el("a", { href: conversationUrl(c.id) }, el("strong", { text: c.guest?.name || shortAddress(c.guest?.address) || "—" })),
            el("span", { text: shortAddress(c.guest?.address) }),
          ),
          el("td", {}, el("span", { class: "badge channel", text: channelLabel(c.channel) })),
          el("td", {}, el("span", { class: `badge status-${c.status}`, text: statusLabel(c.status) })),
          el("td", { text: assigneeText(c) }),
          el(
            "td",
            { class: "guest-cell" },
            el("strong", { text: formatWhen(c.last_message_at) }),
            el("span", { text: (c.last_message_text || "").slice(0, 120) }),
          ),
        ),
      ),
    );
  },
};

function assigneeText(conversation) {
  if (!conversation.assignee) return "—";
  if (conversation.assignee === USER_ID) return gettext("Me");
  return conversation.assignee_name || gettext("Another staff member");
}

// --- conversation view --------------------------------------------------------------------------------------------
const thread = {
  id: cfg.conversation,
  conversation: null,
  messages: new Map(), // message id -> li
  lastMessageId: 0,
  replyKey: null,
  noteKey: null,
  replyInFlight: false,
  noteInFlight: false,
  cannedLanguage: null,

  init() {
    document.getElementById("claim-button").addEventListener("click", () => this.action("claim"));
    document.getElementById("release-button").addEventListener("click", () => this.action("release"));
    document.getElementById("resolve-button").addEventListener("click", () => this.action("resolve"));
    document.getElementById("reply-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.reply();
    });
    document.getElementById("note-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.note();
    });
    document.getElementById("note-send").disabled = false; // the page renders it disabled until this form is bound
    const input = document.getElementById("reply-input");
    // A new text is a new compose: it gets its own key. The same text retried keeps its key (never sent twice).
    input.addEventListener("input", () => {
      if (!this.replyInFlight) this.replyKey = null;
    });
    document.getElementById("note-input").addEventListener("input", () => {
      if (!this.noteInFlight) this.noteKey = null;
    });
    for (const [inputId, formId] of [
      ["reply-input", "reply-form"],
      ["note-input", "note-form"],
    ]) {
      document.getElementById(inputId).addEventListener("keydown", (event) => {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          document.getElementById(formId).requestSubmit();
        }
      });
    }
    document.getElementById("canned-select").addEventListener("change", (event) => {
      const option = event.target.selectedOptions[0];
      if (option && option.dataset.text) {
        input.value = input.value ? `${input.value}\n${option.dataset.text}` : option.dataset.text;
        this.replyKey = null;
        input.focus();
      }
      event.target.value = "";
    });
  },

  async load() {
    try {
      const detail = await api(`conversations/${this.id}/`);
      conversationStamps.set(detail.id, new Date(detail.updated_at || 0).getTime());
      this.setConversation(detail);
      this.renderPanel(detail.panel || {});
      await this.loadMessages();
      this.loadCanned(detail.language || detail.panel?.language || lang);
    } catch (error) {
      document.getElementById("messages-loading").hidden = true;
      this.notice(error instanceof ApiError && error.status === 404 ? gettext("Conversation not found.") : errorText(error));
      throw error;
    }
  },

  async loadMessages() {
    for (;;) {
      const data = await api(`conversations/${this.id}/messages/?after=${this.lastMessageId}`);
      for (const message of data.results) this.upsertMessage(message);
      if (!data.has_more || !data.results.length) break;
    }
    document.getElementById("messages-loading").hidden = true;
    this.scrollToEnd(true);
  },

  async loadCanned(language) {
    if (this.cannedLanguage === language) return;
    this.cannedLanguage = language;
    const select = document.getElementById("canned-select");
    try {
      const data = await api(`canned-replies/?language=${encodeURIComponent(language)}`);
      select.replaceChildren(
        el("option", { value: "" }, gettext("Canned replies…")),
        ...data.results.map((reply) =>
          el("option", { value: String(reply.id), dataset: { text: reply.text } }, reply.title),
        ),
      );
      select.disabled = data.results.length === 0;
      select.title = data.results.length ? "" : gettext("No canned replies in this language.");
    } catch {
      select.disabled = true;
    }
  },

  notice(text) {
    const node = document.getElementById("conv-notice");
    node.textContent = text || "";
    node.hidden = !text;
  },

  setConversation(conversation) {
    const previous = this.conversation || {};
    const merged = { ...previous, ...conversation };
    if (previous.assignee !== undefined && previous.assignee !== conversation.assignee && !conversation.assignee_name) {
      merged.assignee_name = null;
    }
    this.conversation = merged;
    const c = merged;
    document.getElementById("conv-guest-name").textContent = c.guest?.name || shortAddress(c.guest?.address) || gettext("Guest");
    const status = document.getElementById("conv-status");
    status.textContent = statusLabel(c.status);
    status.className = `badge status status-${c.status}`;
    status.dataset.status = c.status;
    let handledBy = "";
    if (c.assignee === USER_ID) handledBy = gettext("Handled by you");
    else if (c.assignee) handledBy = interpolate(gettext("Handled by %(name)s"), { name: assigneeText(c) }, true);
    document.getElementById("conv-assignee").textContent = handledBy;
    document.getElementById("guest-reason").textContent = reasonLabel(c.escalation_reason);
    this.updateActions();
  },

  updateActions() {
    const c = this.conversation;
    const mine = c.status === "human" && c.assignee === USER_ID;
    const open = c.status !== "closed";
    const heldByOther = c.assignee && c.assignee !== USER_ID && c.status === "human";
    document.getElementById("claim-button").disabled = !(c.status === "bot" || c.status === "pending_human");
    document.getElementById("release-button").disabled = !(
      mine ||
      (IS_ADMIN && (c.status === "human" || c.status === "pending_human"))
    );
    document.getElementById("resolve-button").disabled = !open || (heldByOther && !IS_ADMIN);
    const canReply = mine;
    document.getElementById("reply-input").disabled = !canReply;
    document.getElementById("canned-select").disabled = !canReply;
    document.getElementById("reply-send").disabled = !canReply || this.replyInFlight;
    let hint = "";
    if (!open) hint = gettext("This conversation is closed. The guest's next message opens a new one.");
    else if (heldByOther) hint = gettext("Another staff member is handling this conversation.");
    else if (!mine) hint = gettext("Claim the conversation to reply. The bot stays silent while you hold it.");
    document.getElementById("reply-hint").textContent = hint;
    this.notice(c.status === "pending_human" ? gettext("The guest is waiting for a person.") : "");
  },

  async action(name) {
    const button = document.getElementById(`${name}-button`);
    if (button.disabled) return;
    button.disabled = true;
    try {
      const conversation = await api(`conversations/${this.id}/${name}/`, { method: "POST" });
      conversationStamps.set(conversation.id, new Date(conversation.updated_at || Date.now()).getTime());
      this.setConversation(conversation);
      queue.apply(conversation);
      const done = {
        claim: gettext("You are handling this conversation now. The bot is silent."),
        release: gettext("Handed back to the bot."),
        resolve: gettext("Conversation resolved."),
      };
      toast(done[name]);
      if (name === "claim") document.getElementById("reply-input").focus();
    } catch (error) {
      toast(errorText(error), { error: true });
      this.updateActions();
    }
  },

  async reply() {
    const input = document.getElementById("reply-input");
    const button = document.getElementById("reply-send");
    const text = input.value.trim();
    if (this.replyInFlight || !text) return;
    this.replyInFlight = true;
    this.replyKey = this.replyKey || newKey();
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    try {
      const message = await api(`conversations/${this.id}/reply/`, {
        method: "POST",
        body: { text },
        headers: { "Idempotency-Key": this.replyKey },
      });
      this.upsertMessage(message);
      this.scrollToEnd(true);
      input.value = "";
      this.replyKey = null;
    } catch (error) {
      toast(errorText(error), { error: true });
    } finally {
      this.replyInFlight = false;
      button.removeAttribute("aria-busy");
      this.updateActions();
    }
  },

  async note() {
    const input = document.getElementById("note-input");
    const button = document.getElementById("note-send");
    const text = input.value.trim();
    if (this.noteInFlight || !text) return;
    this.noteInFlight = true;
    this.noteKey = this.noteKey || newKey(); // kept for a retry of the same text: one note, not two
    button.disabled = true;
    try {
      const message = await api(`conversations/${this.id}/notes/`, {
        method: "POST",
        body: { text },
        headers: { "Idempotency-Key": this.noteKey },
      });
      this.upsertMessage(message);
      this.scrollToEnd(true);
      input.value = "";
      this.noteKey = null;
    } catch (error) {
      toast(errorText(error), { error: true });
    } finally {
      this.noteInFlight = false;
      button.disabled = false;
    }
  },

  scrollToEnd(force = false) {
    const list = document.getElementById("messages");
    const nearEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    if (force || nearEnd) list.scrollTop = list.scrollHeight;
  },

  upsertMessage(message) {
    if (!message || message.id === undefined) return;
    const existing = this.messages.get(message.id);
    if (existing) {
      this.setDelivery(existing, message.status, message.error_code);
      return;
    }
    const node = this.renderMessage(message);
    this.messages.set(message.id, node);
    const list = document.getElementById("messages");
    // Oldest first by id: a late event slots in where it belongs.
    const after = [...list.children].find((child) => Number(child.dataset.id) > message.id);
    list.insertBefore(node, after || null);
    this.lastMessageId = Math.max(this.lastMessageId, message.id);
    if (message.direction === "in" && message.nlu && message.nlu.intent) {
      this.renderNlu({
        intent: message.nlu.intent,
        confidence: message.nlu.confidence,
        entities: message.nlu.entities || {},
      });
    }
  },

  renderMessage(m) {
    const internal = Boolean(m.is_internal);
    const who = internal
      ? interpolate(gettext("Internal note · %(name)s"), { name: m.author?.name || SENDER_LABELS.staff }, true)
      : m.sender === "staff" && m.author
        ? m.author.name
        : SENDER_LABELS[m.sender] || m.sender;
    const classes = ["message", internal ? "internal" : "", m.flagged ? "flagged" : ""].filter(Boolean).join(" ");
    const body = m.text || (m.kind && m.kind !== "text" ? `[${m.kind}]` : "");
    const node = el(
      "li",
      {
        class: classes,
        dataset: { testid: "message", sender: m.sender, id: String(m.id), internal: String(internal) },
      },
      internal ? el("div", { class: "note-label", text: gettext("Internal note — not sent to the guest") }) : null,
      el("div", { class: "body", text: body }),
      m.options && m.options.length ? el("div", { class: "options" }, m.options.map((o) => el("span", { text: o }))) : null,
      el(
        "div",
        { class: "meta" },
        el("span", { text: who }),
        el("time", { datetime: m.created_at || "", text: formatWhen(m.created_at) }),
        m.direction === "in" && m.nlu && m.nlu.intent
          ? el("span", {
              class: "nlu-chip",
              title: gettext("What the agent understood"),
              text: `${m.nlu.intent} ${Math.round((m.nlu.confidence || 0) * 100)}%`,
            })
          : null,
        m.flagged ? el("span", { class: "badge", text: gettext("Flagged") }) : null,
        m.direction === "out" && !internal ? el("span", { class: "ticks", dataset: { testid: "delivery-status" } }) : null,
      ),
    );
    if (m.direction === "out" && !internal) this.setDelivery(node, m.status, m.error_code, true);
    return node;
  },

  setDelivery(node, status, errorCode, initial = false) {
    const ticks = node.querySelector(".ticks");
    if (!ticks || !DELIVERY[status]) return;
    const current = ticks.dataset.status;
    if (!initial && current && (STATUS_RANK[status] ?? -1) < (STATUS_RANK[current] ?? -1)) return;
    ticks.dataset.status = status;
    ticks.textContent = DELIVERY[status].mark;
    const label = status === "failed" && errorCode ? `${DELIVERY[status].label} (${errorCode})` : DELIVERY[status].label;
    ticks.title = label;
    ticks.setAttribute("aria-label", label);
  },

  applyStatus(payload) {
    const node = this.messages.get(payload.id);
    if (node) this.setDelivery(node, payload.status, payload.error_code);
  },

  renderPanel(panel) {
    document.getElementById("guest-name").textContent = panel.name || "—";
    document.getElementById("guest-channel").textContent = channelLabel(panel.channel);
    const address = document.getElementById("guest-address");
    address.textContent = shortAddress(panel.address) || "—";
    address.title = panel.address || "";
    document.getElementById("guest-language").textContent = languageLabel(panel.language);
    this.renderNlu(panel.last_nlu);
    this.renderBooking(panel.booking);
    const context = document.getElementById("guest-context");
    const entries = Object.entries(panel.context || {}).filter(([, v]) => v !== null && v !== "" && v !== undefined);
    context.replaceChildren(entries.length ? keyValues(entries) : el("p", { class: "muted", text: "—" }));
  },

  renderNlu(nlu) {
    const node = document.getElementById("guest-nlu");
    if (!nlu || !nlu.intent) {
      node.replaceChildren(el("p", { class: "muted", text: gettext("Nothing yet.") }));
      return;
    }
    const confidence = Math.round((Number(nlu.confidence) || 0) * 100);
    const entities = Object.entries(nlu.entities || {});
    node.replaceChildren(
      el(
        "dl",
        { class: "kv" },
        el("dt", { text: gettext("Intent") }),
        el("dd", { dataset: { testid: "nlu-intent" } }, el("strong", { text: nlu.intent })),
        el("dt", { text: gettext("Confidence") }),
        el(
          "dd",
          {},
          el(
            "span",
            {
              class: `confidence${confidence < 60 ? " low" : ""}`,
              role: "img",
              "aria-label": `${confidence}%`,
            },
            el("i", { style: `width: ${confidence}%` }),
          ),
          ` ${confidence}%`,
        ),
      ),
      entities.length
        ? el("div", {}, el("p", { class: "small muted", text: gettext("Entities") }), keyValues(entities))
        : null,
    );
  },

  renderBooking(booking) {
    const node = document.getElementById("guest-booking");
    if (!booking) {
      node.replaceChildren(el("p", { class: "muted", text: gettext("No booking known.") }));
      return;
    }
    const rows = [
      [gettext("Reference"), booking.reference],
      [gettext("Status"), booking.status],
      [gettext("Room"), booking.room_type],
      [gettext("Check-in"), booking.check_in],
      [gettext("Check-out"), booking.check_out],
      [gettext("Guests"), `${booking.adults ?? 0} + ${booking.children ?? 0}`],
      [gettext("Holder"), booking.guest_name],
      [gettext("Total"), booking.total_price ? `${booking.total_price} ${booking.currency || ""}` : ""],
    ];
    node.replaceChildren(keyValues(rows.filter(([, v]) => v)));
  },
};

function keyValues(entries) {
  return el(
    "dl",
    { class: "kv" },
    entries.flatMap(([key, value]) => [
      el("dt", { text: key.replace ? key.replace(/_/g, " ") : key }),
      el("dd", { text: typeof value === "object" ? JSON.stringify(value) : String(value) }),
    ]),
  );
}

// --- wiring -------------------------------------------------------------------------------------------------------
function handleEvent(event) {
  const payload = event.payload || {};
  const page = cfg.page;
  if (event.type === "conversation.updated") {
    if (!isFresh(payload.id, event.at)) return;
    queue.apply(payload, event.at);
    if (page === "conversations") list.applyConversation(payload);
    if (page === "conversation" && payload.id === thread.id) {
      thread.setConversation(payload);
      if (payload.language) thread.loadCanned(payload.language);
    }
  } else if (event.type === "message.created" || event.type === "note.created") {
    const message = event.type === "note.created" ? { is_internal: true, ...payload } : payload;
    if (page === "conversations") list.applyMessage(message);
    if (page === "conversation" && message.conversation === thread.id) {
      thread.upsertMessage(message);
      thread.scrollToEnd();
    }
  } else if (event.type === "message.status") {
    if (page === "conversation" && payload.conversation === thread.id) thread.applyStatus(payload);
  }
}

async function main() {
  if (!root || !cfg.page) return;
  setInterval(tickWaiting, 1000);
  const live = new LiveConnection({
    onEvent: handleEvent,
    onError: (error) => {
      if (error.code === "not_found" && cfg.page === "conversation") thread.notice(gettext("Conversation not found."));
    },
  });
  // Where the live stream starts: taken before the page's data is read, so nothing that happens while it loads
  // is missed (a replayed event already reflected in the data changes nothing).
  let cursor = 0;
  try {
    cursor = Math.max(0, ((await api("events/")).last_id || 0) - RESUME_MARGIN);
  } catch (error) {
    toast(errorText(error), { error: true });
    return;
  }
  try {
    if (cfg.page === "conversations") list.init();
    if (cfg.page === "conversation") thread.init();
    const loads = [queue.load()];
    if (cfg.page === "conversations") loads.push(list.load());
    if (cfg.page === "conversation") loads.push(thread.load());
    await Promise.all(loads);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) toast(errorText(error), { error: true });
    if (cfg.page === "conversation") return;
  }
  if (cfg.page === "conversation") live.subscriptions.add(thread.id);
  live.start(cursor);
}

main();
