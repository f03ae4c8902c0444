// The visitor widget: embed with <script src="/lib/signalr/signalr.min.js"></script><script src="/widget.js" data-chat="/chat"></script>.
// It keeps its visitor token in localStorage (a reload is the same customer), shows the history once, and after any
// disconnect resumes from the last seq it saw; sends are retried with the same client message id until the hub answers,
// so nothing is lost and nothing shows twice.
(() => {
  "use strict";
  const script = document.currentScript;
  const base = (script && script.dataset.chat) || "/chat";
  const title = (script && script.dataset.title) || "Chat with us";
  const storeKey = "chat.visitor:" + base;

  const style = document.createElement("style");
  style.textContent = `
    .chatw { position: fixed; right: 20px; bottom: 20px; width: 340px; font: 14px system-ui, sans-serif; z-index: 2147483000; }
    .chatw-panel { display: flex; flex-direction: column; height: 460px; background: #fff; border-radius: 12px; box-shadow: 0 8px 30px #0003; overflow: hidden; }
    .chatw-head { background: #2563eb; color: #fff; padding: 10px 14px; display: flex; justify-content: space-between; align-items: center; }
    .chatw-status { font-size: 11px; opacity: .85; }
    .chatw-log { flex: 1; overflow-y: auto; padding: 10px; background: #f5f6f8; }
    .chatw-msg { max-width: 80%; margin: 6px 0; padding: 7px 10px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; }
    .chatw-msg.customer { margin-left: auto; background: #2563eb; color: #fff; }
    .chatw-msg.agent, .chatw-msg.system, .chatw-msg.bot { background: #fff; border: 1px solid #e3e3e3; }
    .chatw-msg.pending { opacity: .6; }
    .chatw-msg.failed { background: #fee2e2; color: #991b1b; }
    .chatw-meta { font-size: 10px; opacity: .7; margin-top: 2px; }
    .chatw-typing { font-size: 12px; color: #666; padding: 0 10px 4px; min-height: 16px; }
    .chatw-form { display: flex; border-top: 1px solid #e3e3e3; }
    .chatw-form input { flex: 1; border: 0; padding: 10px; font: inherit; outline: none; }
    .chatw-form button { border: 0; background: #2563eb; color: #fff; padding: 0 16px; cursor: pointer; }
  `;
  document.head.appendChild(style);

  const root = document.createElement("div");
  root.className = "chatw";
  root.innerHTML = `
    <div class="chatw-panel" data-testid="chat-widget">
      <div class="chatw-head"><strong></strong><span class="chatw-status" data-testid="widget-status">connecting…</span></div>
      <div class="chatw-log" data-testid="widget-log"></div>
      <div class="chatw-typing" data-testid="widget-typing"></div>
      <form class="chatw-form"><input data-testid="widget-input" placeholder="Type a message…" maxlength="4000" autocomplete="off"><button data-testid="widget-send">Send</button></form>
    </div>`;
  root.querySelector("strong").textContent = title;
  document.body.appendChild(root);
  const log = root.querySelector(".chatw-log");
  const statusEl = root.querySelector(".chatw-status");
  const typingEl = root.querySelector(".chatw-typing");
  const input = root.querySelector("input");

  let conversation = null;
  let lastSeq = 0;
  let agentRead = 0;
  const shown = new Map();  // message id -> element
  const pending = [];       // sends not yet answered, in order
  let template = null;      // the stored message this connection's sends are rebuilt from
  let flushing = false;
  let typingTimer = null;
  let lastTypingSent = 0;

  const newId = () => (crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2));
  const setStatus = text => { statusEl.textContent = text; };

  async function token() {
    let visitor = null;
    try { visitor = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch { visitor = null; }
    if (!visitor || Date.parse(visitor.expiresAt) < Date.now() + 60_000) {
      const response = await fetch(base + "/visitor-token", { method: "POST" });
      if (!response.ok) throw new Error("visitor token: " + response.status);
      visitor = await response.json();
      localStorage.setItem(storeKey, JSON.stringify(visitor));
    }
    return visitor.token;
  }

  function render(message) {
    if (!conversation || message.conversationId !== conversation.id || shown.has(message.id)) return;
    const el = document.createElement("div");
    el.className = "chatw-msg " + message.sender.kind;
    el.dataset.seq = message.seq;
    el.dataset.testid = "widget-message";
    el.textContent = message.kind === "event" ? "· " + describeEvent(message) : message.content;
    const meta = document.createElement("div");
    meta.className = "chatw-meta";
    meta.textContent = message.sender.kind === "agent" ? (message.sender.displayName || "Agent") : "";
    el.appendChild(meta);
    const seq = Number(message.seq);
    // Keep seq order, whatever order pushes and resumes arrive in.
    const after = [...log.querySelectorAll(".chatw-msg[data-seq]")].find(e => Number(e.dataset.seq) > seq);
    log.insertBefore(el, after || log.querySelector(".chatw-msg.pending") || null);
    shown.set(message.id, el);
    lastSeq = Math.max(lastSeq, seq);
    log.scrollTop = log.scrollHeight;
    if (message.sender.kind !== "customer") markRead(); // the agents want to know their words were read, not the customer's own
  }

  function describeEvent(message) {
    try { return JSON.parse(message.content).type; } catch { return message.content; }
  }

  // At most every 250 ms, with the newest seq: fast agent replies must not use up the connection's call rate.
  let readTimer = null;
  function markRead() {
    if (readTimer) return;
    readTimer = setTimeout(() => {
      readTimer = null;
      if (document.visibilityState === "visible" && connection.state === "Connected" && conversation && lastSeq > agentRead) {
        agentRead = lastSeq;
        connection.invoke("MarkRead", conversation.id, String(lastSeq)).catch(() => {});
      }
    }, 250);
  }

  async function resume() {
    let after = lastSeq;
    for (;;) {
      const page = await connection.invoke("Resume", { conversationId: conversation.id, afterSeq: String(after), limit: 200 });
      page.messages.forEach(render);
      after = Number(page.nextAfterSeq);
      if (!page.hasMore) break;
    }
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      while (pending.length && connection.state === "Connected" && conversation) {
        const item = pending[0];
        try {
          const request = { conversationId: conversation.id, clientMessageId: item.clientMessageId, kind: "text", content: item.content };
          const result = await connection.invoke("Send", request);
          pending.shift();
          item.el.remove();
          // The answer carries the stored message only when it cannot be rebuilt from the request (a plugin changed
          // it, a retry, or the first send of this connection: the template kept for the next ones).
          if (result.message && result.isTemplate) template = result.message;
          const stored = result.message || (template && { ...template, id: result.id, seq: result.seq, createdAt: result.createdAt, kind: request.kind, content: request.content, clientMessageId: request.clientMessageId });
          if (stored) render(stored); else await resume();
        } catch (error) {
          if (connection.state !== "Connected") return; // sent again, with the same id, after the reconnect
          if (String(error.message).includes("Rate limit: ")) {
            // Refused before it ran (too many calls at once): slow down and send it again, as the hub asks.
            await new Promise(resolve => setTimeout(resolve, 250));
            continue;
          }
          pending.shift();
          item.el.classList.remove("pending");
          item.el.classList.add("failed");
          item.el.title = error.message;
        }
      }
    } finally {
      flushing = false;
    }
  }

  const connection = new signalR.HubConnectionBuilder()
    .withUrl(base + "/customer", { accessTokenFactory: token })
    // Forever, each wait at random (as Chat.Client does): a node's clients, cut at the same moment, do not all come back at once.
    .withAutomaticReconnect({ nextRetryDelayInMilliseconds: context => context.previousRetryCount === 0 ? 500 * Math.random() : Math.min(5_000, 1_000 * 2 ** (context.previousRetryCount - 1)) * (0.5 + 0.5 * Math.random()) })
    .build();

  connection.on("MessageReceived", message => {
    // A gap before a pushed message: read what lies before it (as Chat.Client does). A customer's gaps are mostly
    // agents' private notes, which Resume leaves out, but one may be a push lost on its way, which only this shows.
    if (conversation && message.conversationId === conversation.id && lastSeq > 0 && Number(message.seq) > lastSeq + 1) {
      resume().catch(() => render(message));
    } else {
      render(message);
    }
  });
  connection.on("TypingReceived", event => {
    if (!conversation || event.conversationId !== conversation.id || event.senderKind !== "agent") return;
    typingEl.textContent = "Agent is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingEl.textContent = ""; }, 3000);
  });
  connection.on("ReadReceived", () => {});
  connection.on("ConversationChanged", changed => { if (conversation && changed.id === conversation.id) conversation = changed; });
  // The hub lost pushes between its nodes (their link to Redis was down): read what came meanwhile, at a random moment
  // within the time it gives, as Chat.Client does.
  connection.on("CatchUp", within => { setTimeout(() => resume().catch(() => {}), Math.random() * Math.min(Number(within) || 0, 60_000)); });
  connection.onreconnecting(() => setStatus("reconnecting…"));
  connection.onreconnected(async () => {
    setStatus("online");
    await resume();
    await flush();
  });
  connection.onclose(() => { setStatus("offline"); setTimeout(connect, 2000); });

  async function connect() {
    try {
      setStatus("connecting…");
      await connection.start();
      conversation = await connection.invoke("StartConversation");
      await resume();
      setStatus("online");
      await flush();
    } catch (error) {
      setStatus("offline");
      console.warn("chat widget:", error);
      if (connection.state === "Disconnected") setTimeout(connect, 2000);
    }
  }

  root.querySelector("form").addEventListener("submit", event => {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    input.value = "";
    const el = document.createElement("div");
    el.className = "chatw-msg customer pending";
    el.textContent = content;
    log.appendChild(el);
    log.scrollTop = log.scrollHeight;
    pending.push({ clientMessageId: newId(), content, el });
    flush();
  });
  input.addEventListener("input", () => {
    if (conversation && connection.state === "Connected" && Date.now() - lastTypingSent > 2000) {
      lastTypingSent = Date.now();
      connection.invoke("Typing", conversation.id).catch(() => {});
    }
  });
  document.addEventListener("visibilitychange", markRead);

  // For tests and the host page: the widget's state, read-only.
  window.chatWidget = { get lastSeq() { return lastSeq; }, get conversationId() { return conversation && conversation.id; }, get state() { return connection.state; }, connection };
  connect();
})();
