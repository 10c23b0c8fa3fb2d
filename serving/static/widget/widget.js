/* Agent sidebar widget: streamed cited drafts, escalation, QA and feedback.
 *
 * Configuration arrives in the URL fragment (never sent to the server, so never logged):
 *   /widget/#key=<agent key>&api=<API origin>&origin=<host origin>&lang=zh|en
 * The fragment is removed from the address bar as soon as it is read. A host may instead
 * (or also) send {type:"assist:init", key, lang}. The live conversation comes in as
 * {type:"assist:conversation", turns:[{role,text}], channel, customer}; an accepted reply
 * goes out as {type:"assist:insert", text, draft_id}. See docs/frontend.md.
 */
(function () {
  "use strict";
  var I = window.AssistI18n;
  var $ = function (id) { return document.getElementById(id); };

  var cfg = readFragment();
  var state = {
    key: cfg.key || null,
    api: (cfg.api || location.origin).replace(/\/+$/, ""),
    hostOrigin: cfg.origin || referrerOrigin() || "*",
    lang: cfg.lang === "en" || cfg.lang === "zh" ? cfg.lang : I.detect(),
    conv: null, draft: null, sources: [], related: [], status: null, editing: false,
    feedbackSent: false, run: 0, qaSeq: 0, qa: null, esc: null, escTimer: null, panelReturn: null,
    tenant: null,
  };
  window.__assistWidget = state; // inspection hook for tests and debugging (holds no key copy elsewhere)

  function readFragment() {
    var out = {};
    var h = location.hash.replace(/^#/, "");
    if (!h) return out;
    h.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
    });
    // Take the key out of the address bar (and so out of history and screenshots).
    history.replaceState(null, "", location.pathname + location.search);
    return out;
  }
  function referrerOrigin() {
    try { return document.referrer ? new URL(document.referrer).origin : null; } catch (e) { return null; }
  }
  function t(key, vars) { return I.t(state.lang, key, vars); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // ------------------------------------------------------------------ HTTP
  function headers() {
    return { "Content-Type": "application/json", "Authorization": "Bearer " + state.key };
  }
  async function api(path, body) {
    var res = await fetch(state.api + path, {
      method: body === undefined ? "GET" : "POST", headers: headers(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    var data = await res.json().catch(function () { return {}; });
    if (!res.ok) throw new Error((data.error && data.error.message) || data.detail || ("HTTP " + res.status));
    return data;
  }

  // ------------------------------------------------------------------ conversation in
  function convBody(conv) {
    // The service never reads the wall clock (decisions are reproducible from the input), so a
    // live conversation is stamped here: escalation deadlines are counted from this moment.
    return { turns: conv.turns, channel: conv.channel || null, customer: conv.customer || {},
      now: conv.now || new Date().toISOString() };
  }
  function parsePaste(text) {
    var turns = [];
    text.split(/\n+/).forEach(function (line) {
      line = line.trim();
      if (!line) return;
      var m = line.match(/^(customer|client|user|agent|客户|顾客|用户|坐席|客服)\s*[:：]\s*(.*)$/i);
      var role = "customer", body = line;
      if (m) { role = /^(agent|坐席|客服)$/i.test(m[1]) ? "agent" : "customer"; body = m[2]; }
      if (body) turns.push({ role: role, text: body });
    });
    return turns;
  }

  async function run(conv) {
    if (!state.key) { showToast(t("noKey"), true); return; }
    if (!conv || !Array.isArray(conv.turns) || !conv.turns.length) return;
    var my = ++state.run;
    state.conv = conv; state.draft = null; state.sources = []; state.related = []; state.status = null; state.qa = null;
    state.feedbackSent = false; setEditing(false);
    $("qa-card").hidden = true; $("cites-card").hidden = true; $("sources-card").hidden = true;
    $("related-card").hidden = true;
    setActions(false); showToast("");
    renderStatus();
    $("hint").textContent = t("searching"); $("hint").className = "hint";
    var box = $("draft");
    box.textContent = ""; box.className = "draft streaming"; box.setAttribute("aria-busy", "true");
    escalation(conv, my);
    try {
      await streamDraft(conv, my);
    } catch (e) {
      if (my !== state.run) return;
      box.className = "draft"; box.setAttribute("aria-busy", "false");
      $("hint").textContent = t("errorGeneric", { msg: e.message }); $("hint").className = "hint no_draft";
    }
  }

  async function streamDraft(conv, my) {
    var body = convBody(conv); body.stream = true;
    var res = await fetch(state.api + "/v1/assist/draft", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (!res.ok) {
      var err = await res.json().catch(function () { return {}; });
      throw new Error((err.error && err.error.message) || ("HTTP " + res.status));
    }
    var reader = res.body.getReader(), dec = new TextDecoder(), buf = "";
    for (;;) {
      var r = await reader.read();
      if (r.done) break;
      if (my !== state.run) { reader.cancel(); return; }
      buf += dec.decode(r.value, { stream: true });
      var idx;
      while ((idx = buf.indexOf("\n\n")) >= 0) {
        var block = buf.slice(0, idx); buf = buf.slice(idx + 2);
        var ev = "message", data = "";
        block.split("\n").forEach(function (line) {
          if (line.indexOf("event:") === 0) ev = line.slice(6).trim();
          else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
        });
        if (data) onEvent(ev, JSON.parse(data));
      }
    }
  }

  function onEvent(ev, d) {
    var box = $("draft");
    if (ev === "sources") {
      state.draftId = d.draft_id; state.sources = d.sources || [];
      $("hint").textContent = t("drafting");
      renderSources();
    } else if (ev === "delta") {
      // display_text has the customer's masked details put back ([PHONE_1] -> the number);
      // text keeps the placeholders until done.
      box.appendChild(document.createTextNode(d.display_text != null ? d.display_text : d.text));
    } else if (ev === "related") {
      // Articles and FAQ entries the customer could be sent, not among the citations.
      state.related = d.related || []; renderRelated();
    } else if (ev === "done") {
      state.draft = d; state.status = d.status; state.sources = d.sources || state.sources;
      state.related = d.related || state.related;
      box.classList.remove("streaming"); box.setAttribute("aria-busy", "false");
      renderDraft(); renderSources(); renderCitations(); renderRelated(); renderStatus();
      if (d.status === "drafted" || d.status === "curated") { setActions(true); runQA(d.display_text); }
    } else if (ev === "error") {
      box.classList.remove("streaming"); box.setAttribute("aria-busy", "false");
      $("hint").textContent = t("errorGeneric", { msg: d.error && d.error.message }); $("hint").className = "hint no_draft";
    }
  }

  // ------------------------------------------------------------------ rendering
  function citeHtml(text, citations) {
    var nums = {};
    (citations || []).forEach(function (c) { nums[c.number] = c; });
    return esc(text).replace(/\[(\d{1,3})\]/g, function (m, n) {
      var c = nums[+n];
      if (!c) return m;
      return '<button type="button" class="cite" data-cite="' + n + '" aria-label="' +
        esc(t("openSource", { n: n, title: c.title + (c.section ? " · " + c.section : "") })) + '">' + n + "</button>";
    });
  }
  function renderDraft() {
    var d = state.draft, box = $("draft");
    if (!d) return;
    box.className = "draft" + (d.status === "curated" ? " curated" : "");
    box.innerHTML = d.display_text ? citeHtml(d.display_text, d.citations) : "";
    var hint = $("hint");
    var hints = { drafted: "draftedHint", curated: "curatedHint", not_covered: "notCoveredHint", no_draft: "noDraftHint" };
    hint.className = "hint " + d.status;
    hint.textContent = hints[d.status] ? t(hints[d.status]) : "";
  }
  function renderStatus() {
    var b = $("status");
    var map = { drafted: "stDrafted", curated: "stCurated", not_covered: "stNotCovered", no_draft: "stNoDraft" };
    if (!state.status) { b.hidden = true; return; }
    b.hidden = false; b.className = "badge " + state.status; b.textContent = t(map[state.status]);
    b.setAttribute("data-status", state.status);
  }
  function renderCitations() {
    var list = $("cites"), cites = (state.draft && state.draft.citations) || [];
    list.innerHTML = "";
    $("cites-card").hidden = !cites.length;
    cites.forEach(function (c) {
      var li = document.createElement("li");
      li.innerHTML = '<button type="button" data-cite="' + c.number + '" aria-label="' +
        esc(t("openSource", { n: c.number, title: c.title })) + '"><span class="num">[' + c.number + "]</span>" +
        esc(c.title) + (c.section ? ' <span class="muted">· ' + esc(c.section) + "</span>" : "") +
        '<span class="snippet">' + esc(c.snippet) + "</span></button>";
      list.appendChild(li);
    });
  }
  // Tenant wording (its profile's widget strings) over the built-in interface strings.
  function tstr(key, fallback) {
    var s = state.tenant && state.tenant.strings && state.tenant.strings[state.lang];
    return (s && s[key]) || t(fallback);
  }
  function renderRelated() {
    var list = $("related"), rel = state.related || [];
    $("related-card").hidden = !rel.length;
    $("related-h").textContent = tstr("related_title", "related");
    list.innerHTML = "";
    rel.forEach(function (r, i) {
      var li = document.createElement("li");
      var head = r.question || r.title;
      li.innerHTML = '<button type="button" class="open" data-related="' + i + '" aria-label="' +
        esc(t("relatedOpen", { title: head })) + '"><span class="kind">' + esc(t(r.kind === "faq" ? "kindFaq" : "kindArticle")) +
        "</span>" + esc(head) + (r.question ? ' <span class="muted">· ' + esc(r.title) + "</span>" : "") +
        '<span class="snippet">' + esc(r.snippet) + "</span></button>" +
        (r.matched && r.matched.length ? '<div class="matched muted">' + esc(tstr("related_matched", "relatedMatched")) +
          ": " + esc(r.matched.join(state.lang === "zh" ? "、" : ", ")) + "</div>" : "") +
        '<div class="rel-actions">' +
        (r.url ? '<button type="button" data-related-insert="link" data-i="' + i + '">' +
          esc(tstr("related_insert_link", "relatedInsertLink")) + "</button>" : "") +
        '<button type="button" data-related-insert="snippet" data-i="' + i + '">' +
        esc(tstr("related_insert_snippet", "relatedInsertSnippet")) + "</button></div>";
      list.appendChild(li);
    });
  }
  // Add a related article to the reply being written: its link, or a short extract (with the
  // link when there is one). The reply switches to editing so the agent sees what is sent.
  function insertRelated(r, how) {
    if (!r || !state.draft) return;
    var head = r.question || r.title;
    var text = how === "link" && r.url ? head + (state.lang === "zh" ? "：" : ": ") + r.url
      : r.snippet + (r.url ? " " + r.url : "");
    if (!state.editing) setEditing(true);
    var ta = $("draft-edit"), cur = ta.value.replace(/\s+$/, "");
    ta.value = cur ? cur + "\n\n" + text : text;
    ta.dispatchEvent(new Event("input"));
    setActions(true);
    showToast(t("relatedInserted"));
  }
  function renderSources() {
    var list = $("sources"), src = state.sources || [];
    $("sources-card").hidden = false;
    list.innerHTML = src.length ? "" : '<li class="muted">' + esc(t("noSources")) + "</li>";
    src.forEach(function (s, i) {
      var li = document.createElement("li");
      li.innerHTML = '<button type="button" data-source="' + i + '">' + esc(s.title) +
        (s.section ? ' <span class="muted">· ' + esc(s.section) + "</span>" : "") +
        '<span class="snippet">' + esc(s.text) + "</span></button>";
      list.appendChild(li);
    });
  }
  function setActions(on) {
    ["act-insert", "act-copy", "act-edit", "act-reject"].forEach(function (id) { $(id).disabled = !on || state.feedbackSent; });
  }
  var toastTimer = null;
  function showToast(msg, isErr) {
    var el = $("toast"); el.textContent = msg || ""; el.className = "toast" + (isErr ? " err" : "");
  }

  // ------------------------------------------------------------------ escalation
  async function escalation(conv, my) {
    var banner = $("escalation");
    banner.hidden = true; clearInterval(state.escTimer); state.esc = null;
    try {
      var e = await api("/v1/assist/escalation", convBody(conv));
      if (my !== state.run) return;
      state.esc = e;
      renderEscalation();
    } catch (err) { /* escalation is advisory: a failure must not block the draft */ }
  }
  function renderEscalation() {
    var e = state.esc, banner = $("escalation");
    clearInterval(state.escTimer);
    if (!e || !e.escalate) { banner.hidden = true; return; }
    banner.hidden = false;
    $("esc-title").textContent = t("escTo", { target: e.target || "?" });
    $("esc-urgency").textContent = t("urgency_" + (e.urgency || "normal"));
    $("esc-reasons").innerHTML = (e.reasons || []).map(function (r) { return "<li>" + esc(r) + "</li>"; }).join("");
    $("esc-sop").textContent = e.sop_citation ? t("escSop") + ": " + e.sop_citation : "";
    var dl = $("esc-deadline"), cd = $("esc-countdown");
    if (!e.deadline) { dl.textContent = "—"; cd.textContent = ""; return; }
    var when = new Date(e.deadline);
    dl.setAttribute("datetime", e.deadline);
    dl.textContent = when.toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit", month: "short", day: "numeric" });
    function tick() {
      var ms = when.getTime() - Date.now(), abs = Math.abs(ms);
      var s = Math.floor(abs / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      var txt = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
      cd.textContent = ms >= 0 ? t("escLeft", { time: txt }) : t("escOverdue", { time: txt });
      cd.className = "countdown" + (ms < 0 ? " overdue" : "");
    }
    tick(); state.escTimer = setInterval(tick, 1000);
  }

  // ------------------------------------------------------------------ QA
  async function runQA(text) {
    if (!text) return;
    var my = ++state.qaSeq;
    $("qa-card").hidden = false;
    $("qa-result").textContent = t("qaChecking"); $("qa-result").className = "badge";
    var cited = {};
    ((state.draft && state.draft.citations) || []).forEach(function (c) { cited[c.number] = c.snippet; });
    try {
      var body = { reply: text, cited_texts: cited };
      if (state.conv) body.conversation = convBody(state.conv);
      var q = await api("/v1/assist/qa", body);
      if (my !== state.qaSeq) return;
      state.qa = q; renderQA();
    } catch (e) {
      if (my === state.qaSeq) { $("qa-result").textContent = t("errorGeneric", { msg: e.message }); }
    }
  }
  function renderQA() {
    var q = state.qa;
    if (!q) return;
    var r = $("qa-result");
    r.className = "badge " + (q.passed ? "passed" : "failed");
    r.textContent = (q.passed ? t("qaPassed") : t("qaFailed")) + " · " + t("qaScore", { score: Math.round(q.score * 100) / 100 });
    var sev = { critical: "sevCritical", major: "sevMajor", minor: "sevMinor", info: "sevInfo" };
    $("qa-findings").innerHTML = q.findings.length ? q.findings.map(function (f) {
      return '<li class="' + esc(f.severity) + '"><span class="sev">' + esc(t(sev[f.severity] || "sevInfo")) + "</span>" +
        esc(f.message) + ' <span class="muted small-text">(' + esc(f.check) + ")</span></li>";
    }).join("") : '<li class="muted">' + esc(t("qaNone")) + "</li>";
  }

  // ------------------------------------------------------------------ actions + feedback
  function currentText() {
    return state.editing ? $("draft-edit").value : (state.draft ? state.draft.display_text : "");
  }
  async function feedback(outcome, finalText, reason) {
    if (!state.draft || state.feedbackSent) return;
    state.feedbackSent = true; setActions(false);
    var body = { suggestion_id: state.draft.id, outcome: outcome };
    if (finalText) body.final_text = finalText;
    if (reason) body.reason = reason;
    try { await api("/v1/feedback", body); } catch (e) { showToast(t("feedbackFailed", { msg: e.message }), true); }
  }
  function outcomeFor(text) { return text.trim() === (state.draft.display_text || "").trim() ? "accepted" : "edited"; }
  async function doInsert() {
    var text = currentText();
    if (!text.trim()) return;
    var target = window.parent !== window ? window.parent : null;
    if (target) target.postMessage({ type: "assist:insert", text: text, draft_id: state.draft.id }, state.hostOrigin);
    var outcome = outcomeFor(text);
    if (state.editing) { state.draft.display_text_edited = text; setEditing(false, text); }
    showToast(t("inserted"));
    await feedback(outcome, outcome === "edited" ? text : null);
  }
  async function doCopy() {
    var text = currentText();
    try { await navigator.clipboard.writeText(text); } catch (e) {
      // Clipboard API needs a secure context or permission; fall back to a selection copy.
      var ta = document.createElement("textarea"); ta.value = text; document.body.appendChild(ta); ta.select();
      try { document.execCommand("copy"); } catch (e2) { /* nothing else to try */ }
      ta.remove();
    }
    showToast(t("copied"));
    var outcome = outcomeFor(text);
    await feedback(outcome, outcome === "edited" ? text : null);
  }
  var qaDebounce = null;
  function setEditing(on, keepText) {
    state.editing = on;
    var ta = $("draft-edit"), box = $("draft");
    if (on) {
      ta.value = state.draft ? state.draft.display_text : "";
      ta.style.minHeight = Math.max(box.offsetHeight, 120) + "px";
      box.hidden = true; ta.hidden = false; ta.focus();
      $("act-edit").textContent = t("done");
    } else {
      if (keepText !== undefined && state.draft) box.innerHTML = citeHtml(keepText, state.draft.citations);
      ta.hidden = true; box.hidden = false;
      $("act-edit").textContent = t("edit");
    }
    $("act-edit").setAttribute("aria-pressed", on ? "true" : "false");
  }
  function openReject() {
    var dlg = $("reject-dlg"); dlg.hidden = false; $("reject-reason").value = ""; $("reject-reason").focus();
  }
  function closeReject() { $("reject-dlg").hidden = true; $("act-reject").focus(); }

  // ------------------------------------------------------------------ source panel
  function normalize(s) { return String(s || "").replace(/\s+/g, "").toLowerCase(); }
  async function openArticle(articleId, revision, section, snippet, trigger) {
    var panel = $("panel"), body = $("panel-body");
    state.panelReturn = trigger || document.activeElement;
    panel.hidden = false; $("panel-title").textContent = t("loading"); body.innerHTML = "";
    $("panel-close").focus();
    try {
      var r = await api("/v1/articles/" + encodeURIComponent(articleId) + "/revisions/" + revision);
      $("panel-title").textContent = (r.meta && r.meta.title) || articleId;
      $("panel-meta").textContent = articleId + " · " + t("revision", { rev: revision });
      renderArticle(body, r.text || "");
      highlight(body, section, snippet);
    } catch (e) {
      $("panel-title").textContent = articleId; body.textContent = t("errorGeneric", { msg: e.message });
    }
  }
  function renderArticle(body, text) {
    body.innerHTML = "";
    text.split(/\n{2,}/).forEach(function (para) {
      var m = para.match(/^(#{1,6})\s+(.*)$/);
      var el;
      if (m && para.indexOf("\n") < 0) {
        el = document.createElement(m[1].length <= 2 ? "h3" : "h4");
        el.textContent = m[2]; el.dataset.level = m[1].length; el.dataset.heading = m[2];
      } else {
        el = document.createElement("p"); el.textContent = para;
      }
      body.appendChild(el);
    });
  }
  function highlight(body, section, snippet) {
    var nodes = Array.prototype.slice.call(body.children), target = null, i;
    // Sections look like "Refunds > Timelines": match the deepest heading present.
    var parts = String(section || "").split(/\s*(?:>|›|\/|»)\s*/).filter(Boolean).reverse();
    for (var p = 0; p < parts.length && !target; p++) {
      for (i = 0; i < nodes.length; i++) {
        if (nodes[i].dataset.heading && normalize(nodes[i].dataset.heading) === normalize(parts[p])) { target = nodes[i]; break; }
      }
    }
    var marked = [];
    if (target) {
      var level = +target.dataset.level; marked.push(target);
      for (i = nodes.indexOf(target) + 1; i < nodes.length; i++) {
        if (nodes[i].dataset.heading && +nodes[i].dataset.level <= level) break;
        marked.push(nodes[i]);
      }
    } else if (snippet) {
      var probe = normalize(snippet).slice(0, 24);
      for (i = 0; i < nodes.length; i++) { if (probe && normalize(nodes[i].textContent).indexOf(probe) >= 0) { marked.push(nodes[i]); break; } }
    }
    marked.forEach(function (n) { n.classList.add("hl"); });
    if (marked[0]) { marked[0].id = "cited-section"; marked[0].scrollIntoView({ block: "start" }); }
  }
  function closePanel() {
    $("panel").hidden = true;
    if (state.panelReturn && state.panelReturn.focus) state.panelReturn.focus();
  }
  function citationByNumber(n) {
    return ((state.draft && state.draft.citations) || []).filter(function (c) { return c.number === n; })[0];
  }

  // ------------------------------------------------------------------ tenant
  // The tenant's own name and example conversation (its profile), over the neutral defaults.
  async function loadTenant() {
    if (!state.key) return;
    try { state.tenant = await api("/v1/tenant"); } catch (e) { return; }
    applyTenant();
  }
  function applyTenant() {
    var s = state.tenant && state.tenant.strings && state.tenant.strings[state.lang];
    if (!s) return;
    if (s.paste_placeholder) $("paste-text").placeholder = s.paste_placeholder;
    if (s.display_name) document.title = t("appTitle") + " · " + s.display_name;
    renderRelated();
  }

  // ------------------------------------------------------------------ language
  function setLang(lang) {
    state.lang = lang;
    I.apply(document, lang);
    applyTenant();
    if (state.editing) $("act-edit").textContent = t("done");
    if (state.draft) { if (!state.editing) renderDraft(); renderCitations(); }
    else if (!state.conv) { $("hint").textContent = t("waitingHint"); }
    renderRelated();
    renderStatus(); renderQA(); renderEscalation();
    if (state.sources.length || state.draft) renderSources();
  }

  // ------------------------------------------------------------------ wiring
  window.addEventListener("message", function (e) {
    // Only the embedding page may drive the widget.
    if (e.source !== window.parent || window.parent === window) return;
    if (state.hostOrigin !== "*" && e.origin !== state.hostOrigin) return;
    var m = e.data || {};
    if (m.type === "assist:init") {
      if (m.key && m.key !== state.key) { state.key = m.key; loadTenant(); }
      if (m.lang === "zh" || m.lang === "en") setLang(m.lang);
    } else if (m.type === "assist:conversation") {
      run({ turns: m.turns, channel: m.channel, customer: m.customer, now: m.now });
    }
  });
  $("lang").addEventListener("click", function () { setLang(state.lang === "zh" ? "en" : "zh"); });
  $("paste-go").addEventListener("click", function () {
    run({ turns: parsePaste($("paste-text").value), channel: "chat", customer: {} });
  });
  $("paste-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("paste-go").click(); }
  });
  $("act-insert").addEventListener("click", doInsert);
  $("act-copy").addEventListener("click", doCopy);
  $("act-edit").addEventListener("click", function () {
    if (state.editing) setEditing(false, $("draft-edit").value); else setEditing(true);
  });
  $("draft-edit").addEventListener("input", function () {
    clearTimeout(qaDebounce);
    var text = $("draft-edit").value;
    qaDebounce = setTimeout(function () { runQA(text); }, 700);
  });
  $("draft-edit").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); doInsert(); }
  });
  $("act-reject").addEventListener("click", openReject);
  $("reject-cancel").addEventListener("click", closeReject);
  $("reject-form").addEventListener("submit", async function (e) {
    e.preventDefault();
    var reason = $("reject-reason").value.trim();
    if (!reason) return;
    $("reject-dlg").hidden = true;
    await feedback("rejected", null, reason);
    showToast(t("rejected"));
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-cite],[data-source],[data-related],[data-related-insert]");
    if (!b) return;
    if (b.hasAttribute("data-related-insert")) {
      insertRelated(state.related[+b.getAttribute("data-i")], b.getAttribute("data-related-insert"));
    } else if (b.hasAttribute("data-related")) {
      var r = state.related[+b.getAttribute("data-related")];
      if (r) openArticle(r.article_id, r.revision, r.section, r.snippet, b);
    } else if (b.hasAttribute("data-cite")) {
      var c = citationByNumber(+b.getAttribute("data-cite"));
      if (c) openArticle(c.article_id, c.revision, c.section, c.snippet, b);
    } else {
      var s = state.sources[+b.getAttribute("data-source")];
      if (s) openArticle(s.article_id, s.revision, s.section, s.text, b);
    }
  });
  $("panel-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    if (!$("reject-dlg").hidden) closeReject();
    else if (!$("panel").hidden) closePanel();
    else if (state.editing) setEditing(false, $("draft-edit").value);
  });

  setLang(state.lang);
  loadTenant();
  if (!state.key && window.parent === window) showToast(t("noKey"), true);
  if (window.parent !== window) window.parent.postMessage({ type: "assist:ready" }, state.hostOrigin);
})();
