// The agent console: sign-in, presence and capacity, the queue and conversation lists, the chat with history, typing
// and read receipts, private notes, accept / pending / resolve / reopen / transfer, the delivery state of replies to
// platforms, and the customer context panel with ERP order and parcel cards. Talks to /chat/agent (SignalR, cookie
// sign-in) and /chat/api (REST). Ids are strings on the wire: 64-bit integers do not fit a JavaScript number.
(() => {
  "use strict";
  const $ = selector => document.querySelector(`[data-testid="${selector}"]`);
  const state = {
    me: null,
    connection: null,
    conversations: new Map(), // id -> conversation
    unread: new Map(),        // id -> count
    heardSeq: new Map(),      // conversation id -> highest seq pushed to the console (a push may come again: counted once)
    current: null,            // conversation id
    messages: new Map(),      // message id -> element, for the open conversation
    lastSeq: new Map(),       // conversation id -> last seq seen
    customerRead: 0,
    deliveries: new Map(),    // message id -> latest DeliveryEvent
    recalled: new Set(),      // platform message ids recalled
    templates: new Map(),     // "conversation id:private" -> the stored message sends of it are rebuilt from
    typingTimer: null,
    lastTypingSent: 0,
    reads: new Map(),         // conversation id -> { sent, wanted } read receipt seqs
    readTimer: null,
  };

  // ---- sign-in ----
  $("login").querySelector("form").addEventListener("submit", async event => {
    event.preventDefault();
    const form = new FormData(event.target);
    const response = await fetch("/demo/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ id: form.get("id"), password: form.get("password") }) });
    if (!response.ok) {
      $("login-error").textContent = (await response.json().catch(() => ({}))).detail || "Sign-in failed.";
      return;
    }
    start(await response.json());
  });
  $("logout").addEventListener("click", async () => {
    await state.connection?.stop();
    await fetch("/demo/logout", { method: "POST" });
    location.reload();
  });

  fetch("/demo/me").then(r => (r.ok ? r.json() : null)).then(me => { if (me) start(me); });

  async function start(me) {
    state.me = me;
    $("login").hidden = true;
    document.getElementById("app").hidden = false;
    $("me").textContent = me.name;
    const agents = await fetch("/demo/agents").then(r => r.json()).catch(() => []);
    const target = $("transfer-target");
    for (const agent of agents.filter(a => a.id !== me.id)) target.add(new Option(`Agent: ${agent.name}`, "agent:" + agent.id));
    for (const team of [...new Set(agents.flatMap(a => a.teams))]) target.add(new Option(`Team: ${team}`, "team:" + team));
    target.add(new Option("Back to the queue", "queue:"));
    connect();
  }

  // ---- connection ----
  function connect() {
    const connection = new signalR.HubConnectionBuilder()
      .withUrl("/chat/agent")
      // Forever, each wait at random (as Chat.Client does): a node's clients, cut at the same moment, do not all come back at once.
      .withAutomaticReconnect({ nextRetryDelayInMilliseconds: context => context.previousRetryCount === 0 ? 500 * Math.random() : Math.min(5_000, 1_000 * 2 ** (context.previousRetryCount - 1)) * (0.5 + 0.5 * Math.random()) })
      .build();
    state.connection = connection;
    connection.on("MessageReceived", onMessage);
    // Under load the hub sends several messages in one push, in the order they were stored.
    connection.on("MessagesReceived", messages => { for (const message of messages) onMessage(message); });
    connection.on("ConversationChanged", upsert);
    connection.on("TypingReceived", event => {
      if (event.conversationId !== state.current || event.senderKind !== "customer") return;
      $("chat-typing").textContent = "Customer is typing…";
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(() => { $("chat-typing").textContent = ""; }, 3000);
    });
    connection.on("ReadReceived", event => {
      if (event.conversationId === state.current && event.readerKind === "customer") {
        state.customerRead = Math.max(state.customerRead, Number(event.seq));
        refreshReceipts();
      }
    });
    connection.on("DeliveryChanged", event => {
      state.deliveries.set(event.messageId, event);
      const el = state.messages.get(event.messageId);
      if (el) showDelivery(el, event);
    });
    // The console follows every conversation it opens; past 1,000 the hub stops the one opened longest ago and says
    // so. Nothing to redraw: that conversation's badge just stops counting until it is opened again.
    connection.on("FollowEnded", () => {});
    // The hub lost pushes between its nodes (their link to Redis was down): the lists and the open conversation are
    // read again, at a random moment within the time it gives, as Chat.Client does.
    connection.on("CatchUp", within => {
      setTimeout(() => loadLists().then(() => state.current && resume(state.current)).catch(() => {}), Math.random() * Math.min(Number(within) || 0, 60_000));
    });
    connection.onreconnecting(() => setConnection(false));
    connection.onreconnected(async () => { setConnection(true); await afterConnect(true); });
    connection.onclose(() => { setConnection(false); setTimeout(() => connection.start().then(() => afterConnect(true)).catch(() => {}), 2000); });
    connection.start().then(() => afterConnect(false)).catch(error => { $("connection").textContent = "error: " + error.message; });
  }

  function setConnection(on) {
    $("connection").textContent = on ? "connected" : "reconnecting…";
    $("connection").classList.toggle("on", on);
  }

  async function afterConnect(resumed) {
    setConnection(true);
    await setPresence();
    await loadLists();
    if (resumed && state.current) await resume(state.current);
  }

  async function setPresence() {
    const capacity = Math.max(1, Number($("capacity").value) || 5);
    await state.connection.invoke("SetPresence", $("presence").value, capacity);
  }
  $("presence").addEventListener("change", setPresence);
  $("capacity").addEventListener("change", setPresence);

  // ---- conversation lists ----
  async function loadLists() {
    const [queue, open, pending] = await Promise.all([
      state.connection.invoke("GetQueue"),
      state.connection.invoke("ListConversations", "open", false, 200),
      state.connection.invoke("ListConversations", "pending", false, 200),
    ]);
    // The lists are a snapshot that an event (an assignment, say) may have overtaken while they were on their way:
    // keep whichever copy changed last. The times are ISO 8601 in UTC, so they compare as strings.
    [...queue, ...open, ...pending].forEach(c => {
      const known = state.conversations.get(c.id);
      state.conversations.set(c.id, known && known.updatedAt >= c.updatedAt ? known : c);
    });
    renderLists();
  }

  function upsert(conversation) {
    state.conversations.set(conversation.id, conversation);
    renderLists();
    if (conversation.id === state.current) renderHeader();
  }

  function label(c) {
    return `#${c.id.slice(-6)} · ${c.channelId}`;
  }

  function renderLists() {
    const all = [...state.conversations.values()].sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt));
    const queue = all.filter(c => c.status === "queued");
    const mine = all.filter(c => c.assigneeId === state.me.id && (c.status === "open" || c.status === "pending"));
    const open = all.filter(c => c.status === "open" || c.status === "pending");
    fill($("queue"), queue);
    fill($("mine"), mine);
    fill($("all"), open);
    $("queue-count").textContent = String(queue.length);
  }

  function fill(list, conversations) {
    list.replaceChildren(...conversations.map(c => {
      const li = document.createElement("li");
      li.dataset.id = c.id;
      li.dataset.testid = "conversation";
      li.classList.toggle("active", c.id === state.current);
      const name = document.createElement("span");
      name.textContent = label(c) + (c.assigneeId && c.assigneeId !== state.me.id ? ` (${c.assigneeId})` : "");
      li.appendChild(name);
      const unread = state.unread.get(c.id) || 0;
      if (unread) {
        const badge = document.createElement("span");
        badge.className = "unread";
        badge.textContent = String(unread);
        li.appendChild(badge);
      }
      li.addEventListener("click", () => open(c.id));
      return li;
    }));
  }

  // ---- the open conversation ----
  async function open(id) {
    state.current = id;
    state.messages.clear();
    state.customerRead = 0;
    state.unread.delete(id);
    state.lastSeq.set(id, 0);
    $("chat-log").replaceChildren();
    $("chat-typing").textContent = "";
    renderHeader();
    renderLists();
    $("composer").disabled = $("send").disabled = false;
    await resume(id);
    loadContext();
  }

  function renderHeader() {
    const c = state.conversations.get(state.current);
    if (!c) return;
    $("chat-title").textContent = label(c);
    $("chat-status").textContent = c.status + (c.assigneeId ? ` · ${c.assigneeId}` : "") + (c.teamId ? ` · team ${c.teamId}` : "");
    $("customer").textContent = `Contact ${c.contactId} on ${c.channelId}`;
  }

  async function resume(id) {
    let after = state.lastSeq.get(id) || 0;
    for (;;) {
      const page = await state.connection.invoke("Resume", { conversationId: id, afterSeq: String(after), limit: 200 });
      if (state.current !== id) return;
      page.messages.forEach(render);
      after = Number(page.nextAfterSeq);
      if (!page.hasMore) break;
    }
  }

  function onMessage(message) {
    const heard = state.heardSeq.get(message.conversationId) || 0;
    state.heardSeq.set(message.conversationId, Math.max(heard, Number(message.seq)));
    if (!state.conversations.has(message.conversationId)) {
      loadLists(); // a new conversation
    }
    if (message.conversationId === state.current) {
      // A gap before it (a push lost on its way): read what lies before it first, as Chat.Client does.
      const last = state.lastSeq.get(message.conversationId) || 0;
      if (last > 0 && Number(message.seq) > last + 1) resume(message.conversationId).catch(() => render(message));
      else render(message);
    } else if (message.sender.kind === "customer" && Number(message.seq) > heard) {
      state.unread.set(message.conversationId, (state.unread.get(message.conversationId) || 0) + 1);
      renderLists();
    }
  }

  // A send's answer carries the stored message only when the sender cannot rebuild it: a plugin changed it, a retry,
  // or the connection's first of the conversation (a template, kept). Otherwise: the template with what was sent.
  function storedCopy(result, request) {
    const key = request.conversationId + ":" + Boolean(request.isPrivate);
    if (result.message) {
      if (result.isTemplate) state.templates.set(key, result.message);
      return result.message;
    }
    const template = state.templates.get(key);
    return template && { ...template, id: result.id, seq: result.seq, createdAt: result.createdAt, kind: request.kind, content: request.content, clientMessageId: request.clientMessageId };
  }

  function render(message) {
    if (state.messages.has(message.id)) return;
    const meta = message.metadata || {};
    const el = document.createElement("div");
    const note = meta["chat.private"] === "true";
    el.className = "msg " + (message.kind === "event" ? "event" : note ? "note" : message.sender.kind);
    el.dataset.seq = message.seq;
    el.dataset.id = message.id;
    el.dataset.testid = note ? "note" : "message";
    el.dataset.platformId = meta["chat.platform_message"] || message.platformMessageId || "";
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = message.kind === "event" ? describeEvent(message) : message.content;
    el.appendChild(text);
    if (meta["chat.cards"]) {
      try { JSON.parse(meta["chat.cards"]).forEach(card => el.appendChild(renderCard(card))); } catch { /* not ours to fix */ }
    }
    const info = document.createElement("div");
    info.className = "meta";
    const who = document.createElement("span");
    who.textContent = (note ? "note · " : "") + (message.sender.displayName || message.sender.kind) + " · " + new Date(message.createdAt).toLocaleTimeString();
    info.appendChild(who);
    el.appendChild(info);
    if (meta["chat.recalls"]) markRecalled(meta["chat.recalls"]);
    if (state.recalled.has(el.dataset.platformId)) el.classList.add("recalled");

    const seq = Number(message.seq);
    const log = $("chat-log");
    const after = [...log.children].find(e => Number(e.dataset.seq) > seq);
    log.insertBefore(el, after || null);
    state.messages.set(message.id, el);
    state.lastSeq.set(message.conversationId, Math.max(state.lastSeq.get(message.conversationId) || 0, seq));
    if (state.deliveries.has(message.id)) showDelivery(el, state.deliveries.get(message.id));
    refreshReceipts();
    log.scrollTop = log.scrollHeight;
    if (message.sender.kind === "customer" && document.visibilityState === "visible") markRead(message.conversationId, seq);
  }

  // Read receipts go out at most every 250 ms, each with the newest seq read: a customer writing fast must not use up
  // the connection's call rate (bursts of 40), or the agent's own actions would be refused.
  function markRead(conversationId, seq) {
    const read = state.reads.get(conversationId) || { sent: 0, wanted: 0 };
    read.wanted = Math.max(read.wanted, seq);
    state.reads.set(conversationId, read);
    if (state.readTimer) return;
    state.readTimer = setTimeout(() => {
      state.readTimer = null;
      for (const [id, r] of state.reads) {
        if (r.wanted <= r.sent) continue;
        r.sent = r.wanted;
        state.connection.invoke("MarkRead", id, String(r.wanted)).catch(() => {});
      }
    }, 250);
  }

  function describeEvent(message) {
    try {
      const event = JSON.parse(message.content);
      return event.type === "recall" ? "The customer recalled a message" : "Event: " + event.type;
    } catch {
      return message.content;
    }
  }

  function markRecalled(platformId) {
    state.recalled.add(platformId);
    for (const el of state.messages.values()) if (el.dataset.platformId === platformId) el.classList.add("recalled");
  }

  function renderCard(card) {
    const el = document.createElement("div");
    el.className = "card " + card.type;
    el.dataset.testid = "order-card";
    if (card.type === "order" && card.order) {
      const o = card.order;
      const parcels = (o.shipments || []).map(s => `${s.carrier || "parcel"} ${s.trackingNumber}${s.status ? " (" + s.status + ")" : ""}`).join(", ");
      const items = (o.items || []).map(i => `${i.name} × ${i.quantity}`).join(", ");
      el.textContent = `Order ${o.orderNumber}: ${o.status}${o.total != null ? " · ¥" + o.total : ""}${items ? " · " + items : ""}${parcels ? " · " + parcels : ""}`;
    } else {
      const what = card.orderNumber ? `Order ${card.orderNumber}` : card.source;
      el.textContent = `${what}: ${card.type === "not_found" ? "not found" : "unavailable"}${card.reason ? " (" + card.reason + ")" : ""}`;
    }
    return el;
  }

  function refreshReceipts() {
    for (const el of state.messages.values()) {
      const read = el.classList.contains("agent") && Number(el.dataset.seq) <= state.customerRead;
      let receipt = el.querySelector(".receipt");
      if (read && !receipt) {
        receipt = document.createElement("span");
        receipt.className = "receipt";
        receipt.dataset.testid = "read-receipt";
        receipt.textContent = "read";
        el.querySelector(".meta").appendChild(receipt);
      }
    }
  }

  function showDelivery(el, event) {
    let span = el.querySelector(".delivery");
    if (!span) {
      span = document.createElement("span");
      span.dataset.testid = "delivery";
      el.querySelector(".meta").appendChild(span);
    }
    span.className = "delivery " + event.status;
    span.textContent = event.status === "sent" ? "delivered to the platform" : event.status === "retry" ? `retrying (${event.reason || "…"})` : `failed: ${event.reason}`;
  }

  // ---- composing ----
  document.querySelector(".composer").addEventListener("submit", async event => {
    event.preventDefault();
    const content = $("composer").value.trim();
    if (!content || !state.current) return;
    $("composer").value = "";
    const request = { conversationId: state.current, clientMessageId: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random(), kind: "text", content, isPrivate: $("note-toggle").checked };
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await state.connection.invoke("Send", request);
        const stored = storedCopy(result, request);
        if (stored) render(stored); else resume(request.conversationId);
        return;
      } catch (error) {
        if (state.connection.state === "Connected" || attempt > 20) { alert(error.message); return; }
        await new Promise(resolve => setTimeout(resolve, 1000)); // the same client message id: stored once
      }
    }
  });
  $("composer").addEventListener("input", () => {
    if (state.current && Date.now() - state.lastTypingSent > 2000) {
      state.lastTypingSent = Date.now();
      state.connection.invoke("Typing", state.current).catch(() => {});
    }
  });

  // ---- lifecycle actions ----
  document.querySelector(".actions").addEventListener("click", async event => {
    const action = event.target.dataset.action;
    if (!action || !state.current) return;
    try {
      let changed;
      if (action === "accept") changed = await state.connection.invoke("Accept", state.current);
      if (action === "pending") changed = await state.connection.invoke("SetPending", state.current);
      if (action === "resolve") changed = await state.connection.invoke("Resolve", state.current);
      if (action === "reopen") changed = await state.connection.invoke("Reopen", state.current);
      if (action === "transfer") {
        const [kind, id] = $("transfer-target").value.split(":");
        if (!kind) return;
        changed = await state.connection.invoke("Transfer", state.current, kind === "agent" ? id : null, kind === "team" ? id : null);
      }
      if (changed) upsert(changed);
    } catch (error) {
      alert(error.message);
    }
  });

  // ---- customer context ----
  async function loadContext(order) {
    if (!state.current) return;
    const panel = $("context");
    panel.textContent = "Loading…";
    const url = `/chat/api/conversations/${state.current}/context` + (order ? `?order=${encodeURIComponent(order)}` : "");
    const response = await fetch(url);
    if (!response.ok) { panel.textContent = "Could not load the context (" + response.status + ")."; return; }
    const sources = await response.json();
    panel.replaceChildren();
    if (sources.length === 0) panel.textContent = "No ERP plugin is active.";
    for (const source of sources) {
      if (!source.isAvailable) {
        panel.appendChild(renderCard({ type: "unavailable", source: source.source, reason: source.unavailableReason }));
        continue;
      }
      if (source.orders.length === 0) {
        const none = document.createElement("p");
        none.textContent = `${source.source}: no orders known for this customer yet.`;
        panel.appendChild(none);
      }
      source.orders.forEach(o => panel.appendChild(renderCard({ type: "order", order: o })));
    }
  }
  $("context-refresh").addEventListener("click", () => loadContext());
  document.querySelector(".lookup").addEventListener("submit", event => { event.preventDefault(); loadContext($("order-lookup").value.trim()); });

  window.chatConsole = state; // for tests and debugging, read-only by convention
})();
