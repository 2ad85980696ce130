/*
 * Hotel web chat: embeddable widget and hosted page (vanilla JS, no build).
 *
 *   <script src="https://HOST/webchat/widget.js" data-key="PUBLIC_KEY" async></script>
 *
 * Served by /webchat/widget.js, which prepends window.HotelWebchat.config = {catalog: {es, en, pt}, css}.
 * data-mode="page" binds to the hosted page's markup (templates/webchat/chat.html) instead of adding a floating
 * button and panel. The guest keeps a random token in localStorage (one per key) and so the conversation across
 * reloads; each message carries a client_message_id, so a retried POST is stored once. Live replies come over the
 * websocket; after any reconnect the history is read again from the last message id, and messages are keyed by id,
 * so nothing is lost or shown twice.
 */
(function () {
  "use strict";

  var NS = (window.HotelWebchat = window.HotelWebchat || {});
  var HISTORY_OVERLAP = 20; // message ids re-read before the last one seen (see fetchHistory)
  var config = NS.config || {};
  NS.instances = NS.instances || {};

  var script =
    document.currentScript ||
    document.querySelector('script[data-key][src*="/webchat/widget.js"]');
  if (!script) return;
  var key = script.getAttribute("data-key");
  if (!key || NS.instances[key]) return;

  var base = new URL(script.src, window.location.href).origin;
  var mode = script.getAttribute("data-mode") === "page" ? "page" : "widget";
  var storageKey = "hotelWebchat:" + key;
  var FALLBACK = {
    title: "Chat with us", open: "Open the chat", close: "Close the chat", placeholder: "Write a message…",
    send: "Send", sending: "Sending…", failed: "Not sent. Tap to retry.", reconnecting: "Reconnecting…",
    rate_limited: "You are writing very fast. Please wait a moment.", too_long: "This message is too long.",
    welcome: "Hello! Write to us and we will answer right away.", staff: "Reception",
    unavailable: "The chat is not available right now."
  };

  // --- state ---------------------------------------------------------------------------------------------------
  var state = {
    token: null,
    lang: null,
    hotel: script.getAttribute("data-hotel") || "",
    messages: {},       // id -> public message
    lastId: 0,
    outbox: [],         // [{cid, text, state: "sending" | "failed"}], persisted
    conversation: null, // the conversation the websocket follows
    ws: null,
    wsOpen: false,
    wsAttempts: 0,
    fetching: false,
    fetchAgain: false,
    sendingNow: false,
    ui: null
  };
  NS.instances[key] = state;

  function t(name) {
    var catalog = (config.catalog && config.catalog[state.lang]) || {};
    return catalog[name] || FALLBACK[name] || name;
  }

  // --- storage -------------------------------------------------------------------------------------------------
  var memoryStore = {};
  function load(name) {
    try { return window.localStorage.getItem(storageKey + ":" + name); } catch (e) { return memoryStore[name] || null; }
  }
  function save(name, value) {
    try { window.localStorage.setItem(storageKey + ":" + name, value); } catch (e) { memoryStore[name] = value; }
  }

  function randomId(bytes) {
    var data = new Uint8Array(bytes);
    window.crypto.getRandomValues(data);
    var text = "";
    for (var i = 0; i < data.length; i++) text += String.fromCharCode(data[i]);
    return window.btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function newClientMessageId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return randomId(16);
  }

  state.token = load("token");
  if (!state.token || !/^[A-Za-z0-9_-]{16,64}$/.test(state.token)) {
    state.token = randomId(24);
    save("token", state.token);
  }
  try { state.outbox = JSON.parse(load("outbox") || "[]") || []; } catch (e) { state.outbox = []; }
  state.outbox.forEach(function (item) { item.state = "sending"; });
  function saveOutbox() {
    save("outbox", JSON.stringify(state.outbox.map(function (i) { return { cid: i.cid, text: i.text }; })));
  }

  function pickLanguage(hotelLanguage) {
    var supported = config.catalog ? Object.keys(config.catalog) : ["en"];
    var asked = script.getAttribute("data-lang");
    if (asked && supported.indexOf(asked) >= 0) return asked;
    var browser = navigator.languages || [navigator.language || ""];
    for (var i = 0; i < browser.length; i++) {
      var code = String(browser[i]).toLowerCase().split("-")[0];
      if (supported.indexOf(code) >= 0) return code;
    }
    if (hotelLanguage && supported.indexOf(hotelLanguage) >= 0) return hotelLanguage;
    return supported.indexOf("en") >= 0 ? "en" : supported[0];
  }

  // --- DOM -----------------------------------------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function buildWidget() {
    if (config.css && !document.querySelector('link[data-hwc-css]')) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = config.css;
      link.setAttribute("data-hwc-css", "");
      document.head.appendChild(link);
    }
    var launcher = el("button", "hwc-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-label", t("open"));
    launcher.setAttribute("aria-expanded", "false");
    launcher.innerHTML =
      '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" ' +
      'd="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
    var root = el("section", "hwc-root hwc-widget");
    root.hidden = true;
    root.setAttribute("role", "dialog");
    root.setAttribute("aria-label", t("title"));
    var header = el("header", "hwc-header");
    var headerText = el("div", "hwc-header-text");
    var title = el("h2", "hwc-title", state.hotel || t("title"));
    title.setAttribute("data-hwc-title", "");
    headerText.appendChild(title);
    headerText.appendChild(el("p", "hwc-subtitle", t("title")));
    var conn = el("span", "hwc-conn", t("reconnecting"));
    conn.setAttribute("data-hwc-conn", "");
    conn.hidden = true;
    var close = el("button", "hwc-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", t("close"));
    header.appendChild(headerText);
    header.appendChild(conn);
    header.appendChild(close);
    var list = el("ol", "hwc-messages");
    list.setAttribute("data-hwc-messages", "");
    list.setAttribute("aria-live", "polite");
    var welcome = el("li", "hwc-welcome", t("welcome"));
    welcome.setAttribute("data-hwc-welcome", "");
    list.appendChild(welcome);
    var options = el("div", "hwc-options");
    options.setAttribute("data-hwc-options", "");
    var notice = el("p", "hwc-notice");
    notice.setAttribute("data-hwc-notice", "");
    notice.setAttribute("role", "status");
    notice.hidden = true;
    var form = el("form", "hwc-form");
    form.setAttribute("data-hwc-form", "");
    form.setAttribute("autocomplete", "off");
    var input = el("textarea", "hwc-input");
    input.setAttribute("data-hwc-input", "");
    input.setAttribute("aria-label", t("placeholder"));
    input.rows = 1;
    input.maxLength = 2000;
    input.placeholder = t("placeholder");
    var send = el("button", "hwc-send", t("send"));
    send.type = "submit";
    form.appendChild(input);
    form.appendChild(send);
    [header, list, options, notice, form].forEach(function (n) { root.appendChild(n); });
    var container = el("div", "hwc-container");
    container.appendChild(root);
    container.appendChild(launcher);
    document.body.appendChild(container);

    function toggle(open) {
      root.hidden = !open;
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
      launcher.setAttribute("aria-label", open ? t("close") : t("open"));
      container.classList.toggle("hwc-open", open);
      if (open) { input.focus(); scrollDown(); }
    }
    launcher.addEventListener("click", function () { toggle(root.hidden); });
    close.addEventListener("click", function () { toggle(false); });
    return root;
  }

  function bindUi(root) {
    var q = function (name) { return root.querySelector("[data-hwc-" + name + "]"); };
    state.ui = {
      root: root, list: q("messages"), options: q("options"), notice: q("notice"), form: q("form"),
      input: q("input"), conn: q("conn"), title: q("title"), send: q("send")
    };
    // The chat page renders Send disabled until now: before the script binds the form, a native submit would reload
    // the page and lose what the guest typed (which stays in the box and is sent with the next press).
    if (state.ui.send) state.ui.send.disabled = false;
    if (state.hotel && state.ui.title) state.ui.title.textContent = state.hotel;
    state.ui.form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(state.ui.input.value);
    });
    state.ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit(state.ui.input.value);
      }
    });
  }

  function scrollDown() {
    if (state.ui) state.ui.list.scrollTop = state.ui.list.scrollHeight;
  }

  function showNotice(text) {
    if (!state.ui) return;
    state.ui.notice.textContent = text || "";
    state.ui.notice.hidden = !text;
  }

  function senderLabel(message) {
    if (message.sender === "staff") return t("staff");
    if (message.sender === "bot") return state.hotel || t("title");
    return "";
  }

  function renderMessage(message, node) {
    node = node || el("li");
    node.className = "hwc-message hwc-" + (message.direction === "in" ? "mine" : "theirs") + " hwc-from-" + message.sender;
    node.setAttribute("data-id", String(message.id));
    node.removeAttribute("data-cid");
    node.setAttribute("data-status", message.status || "");
    node.textContent = "";
    var label = senderLabel(message);
    if (label) node.appendChild(el("span", "hwc-sender", label));
    node.appendChild(el("span", "hwc-text", message.text || ""));
    return node;
  }

  function insertById(node, id) {
    var list = state.ui.list;
    var children = list.children;
    for (var i = 0; i < children.length; i++) {
      var childId = children[i].getAttribute("data-id");
      if (children[i].hasAttribute("data-cid") || (childId && Number(childId) > id)) {
        list.insertBefore(node, children[i]);
        return;
      }
    }
    list.appendChild(node);
  }

  function pendingNode(item) {
    return state.ui.list.querySelector('[data-cid="' + item.cid + '"]');
  }

  function renderPending(item) {
    var node = pendingNode(item);
    if (!node) {
      node = el("li");
      node.setAttribute("data-cid", item.cid);
      state.ui.list.appendChild(node);
      node.addEventListener("click", function () {
        if (item.state === "failed") { item.state = "sending"; renderPending(item); pump(); }
      });
    }
    node.className = "hwc-message hwc-mine hwc-pending hwc-" + item.state;
    node.textContent = "";
    node.appendChild(el("span", "hwc-text", item.text));
    node.appendChild(el("span", "hwc-state", item.state === "failed" ? t("failed") : t("sending")));
  }

  function renderOptions() {
    var box = state.ui.options;
    box.textContent = "";
    var last = state.messages[state.lastId];
    if (!last || last.direction !== "out" || state.outbox.length || !(last.options || []).length) return;
    last.options.forEach(function (title) {
      var button = el("button", "hwc-option", title);
      button.type = "button";
      button.addEventListener("click", function () { submit(title); });
      box.appendChild(button);
    });
  }

  /** Add or update a message by id (the one place messages enter the list). */
  function upsert(message) {
    if (!message || typeof message.id !== "number") return;
    var known = state.messages[message.id];
    state.messages[message.id] = message;
    if (message.id > state.lastId) state.lastId = message.id;
    if (!state.ui) return;
    var node = state.ui.list.querySelector('[data-id="' + message.id + '"]');
    if (!node && message.direction === "in") {
      // Our own message, echoed by the websocket before its POST answered: it replaces the pending bubble.
      for (var i = 0; i < state.outbox.length; i++) {
        var item = state.outbox[i];
        if (item.text.trim() === message.text && !item.id) {
          item.id = message.id;
          node = pendingNode(item);
          break;
        }
      }
    }
    if (node) {
      renderMessage(message, node);
      node.parentNode.removeChild(node);
      insertById(node, message.id);
    } else if (!known) {
      insertById(renderMessage(message), message.id);
    }
    var welcome = state.ui.list.querySelector("[data-hwc-welcome]");
    if (welcome) welcome.hidden = true;
    renderOptions();
    scrollDown();
  }

  function updateStatus(update) {
    var message = update && state.messages[update.id];
    if (!message) return;
    message.status = update.status;
    var node = state.ui && state.ui.list.querySelector('[data-id="' + update.id + '"]');
    if (node) node.setAttribute("data-status", update.status || "");
  }

  // --- HTTP ----------------------------------------------------------------------------------------------------
  var messagesUrl = base + "/webchat/" + encodeURIComponent(key) + "/messages/";

  function fetchHistory() {
    if (state.fetching) { state.fetchAgain = true; return Promise.resolve(); }
    state.fetching = true;
    // A few ids back: an id is taken before its transaction commits, so a lower one may appear after a higher one
    // (messages are keyed by id, so the overlap changes nothing).
    var after = Math.max(0, state.lastId - HISTORY_OVERLAP);
    var url = messagesUrl + "?guest_token=" + encodeURIComponent(state.token) + "&after=" + after;
    return fetch(url, { method: "GET", credentials: "omit", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("history " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (data.hotel) {
          if (data.hotel.name && !state.hotel) {
            state.hotel = data.hotel.name;
            if (state.ui && state.ui.title) state.ui.title.textContent = state.hotel;
          }
          if (!state.lang) state.lang = pickLanguage(data.hotel.language);
        }
        ensureUi();
        (data.messages || []).forEach(upsert);
        if (data.more) state.fetchAgain = true;
      })
      .catch(function () { ensureUi(); })
      .then(function () {
        state.fetching = false;
        if (state.fetchAgain) { state.fetchAgain = false; return fetchHistory(); }
      });
  }

  function submit(text) {
    text = String(text || "").trim();
    if (!text) return;
    if (text.length > 2000) { showNotice(t("too_long")); return; }
    var item = { cid: newClientMessageId(), text: text, state: "sending" };
    state.outbox.push(item);
    saveOutbox();
    if (state.ui) {
      state.ui.input.value = "";
      renderPending(item);
      renderOptions();
      scrollDown();
    }
    pump();
  }

  var retryDelay = 1000;
  /** Send the outbox in order, one at a time; network errors and 5xx retry with backoff, other refusals stop. */
  function pump() {
    if (state.sendingNow) return;
    var item = state.outbox.filter(function (i) { return i.state === "sending"; })[0];
    if (!item) return;
    state.sendingNow = true;
    var body = JSON.stringify({ client_message_id: item.cid, text: item.text, guest_token: state.token });
    fetch(messagesUrl, {
      method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" }, body: body
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { status: response.status, data: data, retryAfter: response.headers.get("Retry-After") };
        });
      })
      .then(function (result) {
        state.sendingNow = false;
        if (result.status === 200 || result.status === 201) {
          retryDelay = 1000;
          showNotice("");
          state.outbox.splice(state.outbox.indexOf(item), 1);
          saveOutbox();
          var message = result.data.message;
          var node = pendingNode(item);
          if (node && state.messages[message.id]) node.parentNode.removeChild(node); // the websocket was first
          else if (node) renderMessage(message, node); // the pending bubble becomes the message
          upsert(message);
          if (result.data.conversation !== state.conversation && state.wsOpen) {
            state.ws.send(JSON.stringify({ type: "sync" }));
          }
          pump();
          return;
        }
        if (result.status === 429) {
          showNotice(t("rate_limited"));
          setTimeout(pump, (Number(result.retryAfter) || 10) * 1000);
          return;
        }
        if (result.status >= 500) { retryLater(); return; }
        item.state = "failed";
        saveOutbox();
        if (state.ui) renderPending(item);
        if (result.status === 400) showNotice(t("failed"));
        else showNotice(t("unavailable"));
        pump();
      })
      .catch(function () {
        state.sendingNow = false;
        retryLater();
      });
  }
  function retryLater() {
    setTimeout(pump, retryDelay + Math.random() * 500);
    retryDelay = Math.min(retryDelay * 2, 30000);
  }

  // --- websocket -----------------------------------------------------------------------------------------------
  var pingTimer = null;
  var pollTimer = null;

  function connect() {
    var url = base.replace(/^http/, "ws") + "/ws/chat/" + encodeURIComponent(key) + "/?guest_token=" +
      encodeURIComponent(state.token);
    var ws;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    state.ws = ws;
    ws.onopen = function () {
      state.wsOpen = true;
      state.wsAttempts = 0;
      setConnected(true);
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (state.wsOpen) ws.send(JSON.stringify({ type: "ping" }));
      }, 25000);
    };
    ws.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "ready") {
        state.conversation = data.conversation;
        fetchHistory(); // whatever was sent while we were not following this conversation
      } else if (data.type === "message") {
        upsert(data.message);
      } else if (data.type === "status") {
        updateStatus(data.message);
      }
    };
    ws.onclose = function () {
      state.wsOpen = false;
      clearInterval(pingTimer);
      setConnected(false);
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    state.wsAttempts += 1;
    var delay = Math.min(1000 * Math.pow(2, state.wsAttempts - 1), 30000) * (0.5 + Math.random() / 2);
    setTimeout(connect, delay);
  }

  function setConnected(connected) {
    if (state.ui && state.ui.conn) state.ui.conn.hidden = connected || state.wsAttempts < 2;
    clearInterval(pollTimer);
    pollTimer = null;
    if (!connected) pollTimer = setInterval(fetchHistory, 10000); // no live channel: read the history meanwhile
  }

  // --- start ---------------------------------------------------------------------------------------------------
  function ensureUi() {
    if (state.ui) return;
    if (!state.lang) state.lang = pickLanguage(null);
    var root = mode === "page" ? document.querySelector("[data-hwc-root]") : buildWidget();
    if (!root) return;
    bindUi(root);
    Object.keys(state.messages)
      .map(Number)
      .sort(function (a, b) { return a - b; })
      .forEach(function (id) { insertById(renderMessage(state.messages[id]), id); });
    state.outbox.forEach(renderPending);
    renderOptions();
  }

  function start() {
    // The chat page's form is already in the HTML: bind it at once, so Send is enabled without waiting for the
    // history (the floating widget builds its UI once the history has given the hotel's name and language).
    if (mode === "page") ensureUi();
    fetchHistory().then(function () {
      ensureUi();
      connect();
      pump();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
