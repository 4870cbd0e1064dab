// The dev simulator's page script (templates/pages/simulator.html). Served as a static file so the page needs
// no inline script or handler (a strict Content-Security-Policy allows it). It holds no URL and no Chinese
// text: both come from the page's data-* attributes, rendered by the server with url_for and the templates.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const page = document.body.dataset;
  const chat = $("chat");
  const hint = $("emptyHint");
  const shownPushes = new Set();

  function newOpenid() {
    return "oSIM" + Math.random().toString(36).slice(2, 14) + Date.now().toString(36);
  }

  // A WeChat text may hold links (<a href="…">…</a>), which WeChat shows as tappable words; everything else is
  // plain text (never parsed as HTML).
  const LINK = /<a href="(https?:\/\/[^"<>]+)">([^<>]*)<\/a>/g;

  function appendText(el, text) {
    let last = 0;
    for (const m of text.matchAll(LINK)) {
      el.append(text.slice(last, m.index));
      const a = document.createElement("a");
      a.href = m[1];
      a.className = "msg-link";
      a.textContent = m[2];
      el.appendChild(a);
      last = m.index + m[0].length;
    }
    el.append(text.slice(last));
  }

  function bubble(text, cls, label) {
    hint.hidden = true;
    const div = document.createElement("div");
    div.className = "msg " + cls;
    appendText(div, text);
    if (label) div.dataset.label = label;
    chat.appendChild(div);
    chat.scrollTop = chat.scrollHeight;
  }

  function resetChat() {
    chat.replaceChildren(hint);
    hint.hidden = false;
    shownPushes.clear();
  }

  async function send(payload, shown) {
    bubble(shown, payload.kind === "text" ? "me" : "sys");
    payload.openid = $("openid").value;
    payload.mode = $("mode").value;
    try {
      const res = await fetch(page.sendUrl, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
      });
      const data = await res.json();
      $("raw").textContent = data.request
        ? "POST " + data.request.url + "\nContent-Type: text/xml\n\n" + data.request.body
        : JSON.stringify(data, null, 2);
      if (data.status !== 200) bubble(page.textStatus + data.status + " " + (data.raw_status || ""), "sys");
      else if (data.reply) bubble(data.reply, "bot");
    } catch (err) {
      bubble(page.textFailed + err, "sys");
    }
    refreshFeed();
  }

  // The WeCom app's chat: a command typed as the chosen member of staff, and every piece of the answer.
  const staffUser = $("staffUser");
  staffUser.value = localStorage.getItem("tousu.sim.staff") || staffUser.value;
  staffUser.addEventListener("change", () => localStorage.setItem("tousu.sim.staff", staffUser.value));

  function staffBubble(text, cls) {
    const div = document.createElement("div");
    div.className = "msg " + cls;
    appendText(div, text);
    $("staffChat").appendChild(div);
    div.scrollIntoView({ block: "nearest" });
  }

  async function wecomSend(text) {
    staffBubble(text, "me");
    try {
      const res = await fetch(page.wecomUrl, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ userid: staffUser.value, content: text }),
      });
      const data = await res.json();
      $("raw").textContent = data.request
        ? "POST " + data.request.url + "\nContent-Type: text/xml\n\n" + data.request.body
        : JSON.stringify(data, null, 2);
      if (data.status !== 200) staffBubble(page.textStatus + data.status + " " + (data.raw_status || ""), "sys");
      else for (const reply of data.replies) staffBubble(reply, "bot");
    } catch (err) {
      staffBubble(page.textFailed + err, "sys");
    }
    refreshFeed();
  }

  $("staffCompose").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("staffText").value;
    if (!text.trim()) return;
    $("staffText").value = "";
    wecomSend(text);
  });
  document.querySelectorAll("[data-wecom-say]").forEach((b) => b.addEventListener("click", () => {
    wecomSend(b.dataset.wecomSay);
  }));

  function renderFeed(el, counter, rows) {
    counter.textContent = rows.length ? String(rows.length) : "";
    if (!rows.length) {
      const none = document.createElement("small");
      none.textContent = page.textNone;
      el.replaceChildren(none);
      return;
    }
    el.replaceChildren(...rows.map((r) => {
      const div = message(r);
      const meta = document.createElement("small");
      meta.textContent = "\n→ " + r.to + " · " + r.channel + " · " + r.state + " · " + new Date(r.at).toLocaleString();
      div.appendChild(meta);
      return div;
    }));
  }

  function message(r) {
    const div = document.createElement("div");
    if (r.title) {
      const title = document.createElement("strong");
      title.textContent = r.title;
      div.append(title, "\n");
    }
    appendText(div, r.text || "");
    if (r.links && r.links.length) div.appendChild(cardLinks(r));
    return div;
  }

  // A WeCom text card's way in: one link per recipient in dev mode (it signs in as that person), else the card's
  // own link (WeCom OAuth). The card's URL, as WeCom would get it, is shown below.
  function cardLinks(r) {
    const box = document.createElement("div");
    box.className = "card-links";
    for (const link of r.links) {
      const a = document.createElement("a");
      a.href = link.href;
      a.className = "card-open";
      a.textContent = link.label ? page.textOpenAs.replace("{name}", link.label) : page.textOpen;
      box.appendChild(a);
    }
    const url = document.createElement("small");
    url.className = "card-url";
    url.textContent = page.textLink + r.url;
    box.appendChild(url);
    return box;
  }

  // What the scheduler delivered to this follower also appears in the chat, as WeChat would show it.
  function showPushes(rows) {
    for (const r of rows.slice().reverse()) {
      if (!r.delivered || shownPushes.has(r.key)) continue;
      shownPushes.add(r.key);
      const div = message(r);
      div.className = "msg push";
      div.dataset.label = page.textPush;
      hint.hidden = true;
      chat.appendChild(div);
      chat.scrollTop = chat.scrollHeight;
    }
  }

  async function refreshFeed() {
    try {
      const url = new URL(page.feedUrl, window.location.href);
      url.searchParams.set("openid", $("openid").value);
      const res = await fetch(url);
      const data = await res.json();
      renderFeed($("customerFeed"), $("customerCount"), data.customer);
      renderFeed($("staffFeed"), $("staffCount"), data.staff);
      showPushes(data.customer);
    } catch (err) {
      // The server may be restarting: the next tick tries again.
    }
  }

  function selectTab(name) {
    document.querySelectorAll("[data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
    document.querySelectorAll("[data-pane]").forEach((p) => p.classList.toggle("active", p.dataset.pane === name));
  }

  const openid = $("openid");
  openid.value = localStorage.getItem("tousu.sim.openid") || newOpenid();
  localStorage.setItem("tousu.sim.openid", openid.value);
  openid.addEventListener("change", () => {
    localStorage.setItem("tousu.sim.openid", openid.value);
    resetChat();
    refreshFeed();
  });
  $("newUser").addEventListener("click", () => {
    openid.value = newOpenid();
    openid.dispatchEvent(new Event("change"));
  });

  $("compose").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value;
    if (!text.trim()) return;
    $("text").value = "";
    send({ kind: "text", content: text }, text);
  });
  document.querySelectorAll("[data-say]").forEach((b) => b.addEventListener("click", () => {
    send({ kind: "text", content: b.dataset.say }, b.dataset.say);
  }));
  document.querySelectorAll("[data-kind]").forEach((b) => b.addEventListener("click", () => {
    const kind = b.dataset.kind;
    const content = $("text").value;
    if (kind === "voice" || kind === "location") $("text").value = "";
    const shown = b.dataset.shown + (kind === "voice" || kind === "location" ? content : "");
    send({ kind, content }, shown);
  }));
  document.querySelectorAll("[data-click]").forEach((b) => b.addEventListener("click", () => {
    send({ kind: "click", content: b.dataset.click }, b.dataset.shown);
  }));
  document.querySelectorAll("[data-tab]").forEach((b) => b.addEventListener("click", () => selectTab(b.dataset.tab)));

  setInterval(refreshFeed, 3000);
  refreshFeed();
})();
