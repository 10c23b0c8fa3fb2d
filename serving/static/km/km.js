/* Knowledge managers' pages: write or upload, preview parsing and chunks, the workflow with
 * its history, revisions with diffs, expiry/review lists and knowledge gaps.
 *
 * The knowledge-manager key comes from the URL fragment (/km/#key=...; removed from the address
 * bar at once) or the key form, and is kept in sessionStorage for this tab only.
 */
(function () {
  "use strict";
  var I = window.AssistI18n;
  var $ = function (id) { return document.getElementById(id); };
  var frag = new URLSearchParams(location.hash.slice(1));
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  if (frag.get("key")) sessionStorage.setItem("assist-km-key", frag.get("key"));
  var state = {
    key: sessionStorage.getItem("assist-km-key"),
    lang: frag.get("lang") === "en" || frag.get("lang") === "zh" ? frag.get("lang") : I.detect(),
    articles: [], current: null, revs: [], editing: null, view: "articles",
  };
  window.__assistKm = state;

  // Strings of the knowledge loop (publish gate, suggested articles), added to the shared table.
  var LOOP = {
    zh: { sgTitle: "建议文章", sgHint: "把相似的未覆盖问题、被拒绝或大幅修改的草稿聚类，每类生成一篇待补全的草稿文章（不会发布）。",
      sgRun: "从缺口生成建议文章", sgQuestions: "客户的问法", sgDone: "{n} 篇建议文章（{covered} 类已有答案，已跳过）",
      gateBlocked: "发布被拦截：以下标准问题的回答会变差", gateReason: "放行理由", gateReasonPlaceholder: "放行理由（将记录在操作记录中）",
      gateOverride: "填写理由后仍然发布", gateNeedReason: "请填写放行理由",
      staleTitle: "已过期或到复审日期、近期仍在被引用", staleQuestions: "近 30 天回答过的问题" },
    en: { sgTitle: "Suggested articles", sgHint: "Similar uncovered questions and rejected or heavily edited drafts, clustered: one draft article per cluster, to be completed (never published automatically).",
      sgRun: "Suggest articles from gaps", sgQuestions: "How customers ask", sgDone: "{n} suggested articles ({covered} clusters already answered, skipped)",
      gateBlocked: "Publication blocked: these golden questions would be answered worse", gateReason: "Override reason",
      gateReasonPlaceholder: "Reason to publish anyway (recorded in the history)", gateOverride: "Publish anyway, with this reason",
      gateNeedReason: "Give a reason to override the gate",
      staleTitle: "Past review or expiry date, with the questions they answered", staleQuestions: "Questions answered (30 days)" },
  };
  ["zh", "en"].forEach(function (l) {
    Object.keys(LOOP[l]).forEach(function (k) { if (I.strings[l][k] === undefined) I.strings[l][k] = LOOP[l][k]; });
  });

  function t(k, v) { return I.t(state.lang, k, v); }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmtTime(s) {
    if (!s) return "";
    var d = new Date(s);
    return d.toLocaleString(state.lang === "zh" ? "zh-CN" : "en-GB", { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }
  function toast(msg, err) { var el = $("toast"); el.textContent = msg || ""; el.className = "toast" + (err ? " err" : ""); }

  async function api(path, opts) {
    opts = opts || {};
    var h = { "Authorization": "Bearer " + state.key };
    var body = opts.body;
    if (body !== undefined && !(body instanceof FormData)) { h["Content-Type"] = "application/json"; body = JSON.stringify(body); }
    var res = await fetch(path, { method: opts.method || (body !== undefined ? "POST" : "GET"), headers: h, body: body });
    var data = await res.json().catch(function () { return {}; });
    if (!res.ok) {
      if (res.status === 401) { $("keybar").hidden = false; }
      var msg = data.error ? data.error.message : (data.detail && (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)));
      var err = new Error(msg || ("HTTP " + res.status));
      err.data = data.error || null;
      throw err;
    }
    return data;
  }
  async function guard(fn) {
    try { return await fn(); } catch (e) { toast(t("errorGeneric", { msg: e.message }), true); }
  }

  // ------------------------------------------------------------------ tabs
  function show(view) {
    state.view = view;
    document.querySelectorAll(".tabs [role=tab]").forEach(function (b) {
      var on = b.dataset.view === view;
      b.setAttribute("aria-selected", on ? "true" : "false"); b.tabIndex = on ? 0 : -1;
      $("view-" + b.dataset.view).hidden = !on;
    });
    if (view === "review") loadReview();
    if (view === "gaps") { guard(loadGaps); guard(loadSuggested); }
  }
  document.querySelectorAll(".tabs [role=tab]").forEach(function (b, i, all) {
    b.addEventListener("click", function () { show(b.dataset.view); });
    b.addEventListener("keydown", function (e) {
      var d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!d) return;
      var next = all[(i + d + all.length) % all.length]; next.focus(); show(next.dataset.view);
    });
  });

  // ------------------------------------------------------------------ articles
  async function loadArticles() {
    state.articles = await api("/v1/articles");
    renderArticles();
  }
  function stLabel(s) { var l = t("st_" + s); return l === "st_" + s ? s : l; }
  function statusBadge(s) { return '<span class="badge ' + esc(s) + '">' + esc(stLabel(s)) + "</span>"; }
  function renderArticles() {
    var q = $("filter").value.trim().toLowerCase();
    var rows = state.articles.filter(function (a) { return !q || (a.title + " " + a.id).toLowerCase().indexOf(q) >= 0; });
    $("articles").querySelector("tbody").innerHTML = rows.length ? rows.map(function (a) {
      return '<tr data-id="' + esc(a.id) + '"' + (state.current && state.current.id === a.id ? ' class="sel"' : "") + '><td><button type="button" class="link" data-open="' +
        esc(a.id) + '">' + esc(a.title) + '</button><div class="muted">' + esc(a.id) + "</div></td><td>" + esc(a.type) + "</td><td>" +
        esc(a.language) + "</td><td>" + statusBadge(a.status) + '</td><td class="nowrap">' + esc(a.live_revision == null ? "–" : a.live_revision) +
        " / " + esc(a.latest_revision) + "</td></tr>";
    }).join("") : '<tr><td colspan="5" class="muted">' + esc(t("noArticles")) + "</td></tr>";
  }
  async function openArticle(id) {
    var a = await api("/v1/articles/" + encodeURIComponent(id));
    var revs = await api("/v1/articles/" + encodeURIComponent(id) + "/revisions");
    var events = await api("/v1/articles/" + encodeURIComponent(id) + "/events");
    state.current = a; state.revs = revs;
    $("detail-empty").hidden = true; $("detail-body").hidden = false;
    $("d-title").textContent = a.title;
    $("d-meta").textContent = [a.id, a.type, a.language, a.product || "", t("live") + ": " + (a.live_revision || "–"),
      t("latest") + ": " + a.latest_revision].filter(Boolean).join(" · ");
    $("d-status").className = "badge " + a.status; $("d-status").textContent = stLabel(a.status);
    $("d-status").setAttribute("data-status", a.status);
    $("revs").querySelector("tbody").innerHTML = revs.map(function (r) {
      return '<tr data-rev="' + r.revision + '"><td>' + r.revision + (r.revision === a.live_revision ? " ●" : "") + "</td><td>" + esc(stLabel(r.state)) +
        "</td><td>" + esc(r.created_by || "") + "</td><td>" + esc(fmtTime(r.created_at)) + "</td><td>" + r.chunks +
        '</td><td><button type="button" class="link" data-view-rev="' + r.revision + '">' + esc(t("view")) + "</button></td></tr>";
    }).join("");
    var opts = revs.map(function (r) { return '<option value="' + r.revision + '">' + r.revision + "</option>"; }).join("");
    $("diff-from").innerHTML = opts; $("diff-to").innerHTML = opts;
    if (revs.length > 1) { $("diff-from").value = revs[revs.length - 2].revision; $("diff-to").value = revs[revs.length - 1].revision; }
    var pub = revs.filter(function (r) { return r.revision !== a.live_revision && /published|archived|superseded/.test(r.state); });
    $("rb-rev").innerHTML = (pub.length ? pub : revs).map(function (r) {
      return '<option value="' + r.revision + '">' + r.revision + " · " + esc(stLabel(r.state)) + "</option>";
    }).join("");
    // Offer only the workflow steps the latest revision can take.
    var latest = revs.filter(function (r) { return r.revision === a.latest_revision; })[0] || {};
    var allowed = { submit: latest.state === "draft", approve: latest.state === "in_review",
      publish: latest.state === "draft" || latest.state === "approved", archive: a.status !== "archived" };
    document.querySelectorAll("[data-action]").forEach(function (b) { b.disabled = !allowed[b.getAttribute("data-action")]; });
    $("rb-go").disabled = !pub.length;
    $("events").querySelector("tbody").innerHTML = events.map(function (e) {
      return "<tr><td>" + esc(fmtTime(e.at)) + "</td><td>" + esc(t("action_" + e.action) === "action_" + e.action ? e.action : t("action_" + e.action)) +
        "</td><td>" + esc(e.revision == null ? "" : e.revision) + "</td><td>" + esc(e.actor || "") + "</td><td>" + esc(e.note || "") + "</td></tr>";
    }).join("");
    $("diff").hidden = true; $("rev-text").hidden = true;
    renderArticles();
  }
  function showGate(err) {
    // A publication the publish gate blocked (409 publish_blocked): list the items, offer the override.
    var items = (err && err.data && err.data.regressions) || [];
    $("gate").hidden = false;
    $("gate-items").innerHTML = items.map(function (r) {
      return '<li data-item="' + esc(r.item_id) + '"><strong>#' + esc(r.item_id) + " " + esc(r.question) + "</strong> (" +
        esc(r.expected || "") + ")<div class=\"muted\">" + esc(r.reason) + "</div></li>";
    }).join("");
  }
  function gated(fn) {
    return guard(async function () {
      try { $("gate").hidden = true; return await fn(); }
      catch (e) { if (e.data && e.data.code === "publish_blocked") { showGate(e); toast(t("gateBlocked"), true); return; } throw e; }
    });
  }
  async function workflow(action, override) {
    var a = state.current;
    if (!a) return;
    var note = $("wf-note").value.trim() || null;
    var body = action === "rollback" ? { to_revision: +$("rb-rev").value, note: note } : { note: note };
    if (override) body.override_reason = override;
    await api("/v1/articles/" + encodeURIComponent(a.id) + "/" + action, { body: body });
    $("wf-note").value = "";
    toast(t("actionDone", { action: t(action === "rollback" ? "rollbackDo" : action) }));
    await loadArticles(); await openArticle(a.id);
  }
  function renderDiff(text) {
    var el = $("diff");
    el.hidden = false;
    if (!text) { el.textContent = t("noDiff"); return; }
    el.innerHTML = text.split("\n").map(function (l) {
      var cls = /^\+(?!\+\+)/.test(l) ? "add" : /^-(?!--)/.test(l) ? "del" : /^@@/.test(l) ? "hunk" : "";
      return cls ? '<span class="' + cls + '">' + esc(l) + "</span>" : esc(l);
    }).join("\n");
  }

  // ------------------------------------------------------------------ write
  function writeMeta() {
    var meta = { id: $("w-id").value.trim(), title: $("w-title").value.trim(), type: $("w-type").value, language: $("w-lang").value,
      tags: $("w-tags").value.split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean) };
    if ($("w-product").value.trim()) meta.product = $("w-product").value.trim();
    if ($("w-valid").value) meta.valid_until = $("w-valid").value;
    if ($("w-review").value) meta.review_by = $("w-review").value;
    return meta;
  }
  function asMarkdownFile(meta, body) {
    // The preview endpoint parses files: send the editor content as Markdown with front matter.
    var fm = ["---"];
    Object.keys(meta).forEach(function (k) {
      var v = meta[k];
      fm.push(k + ": " + (Array.isArray(v) ? "[" + v.map(function (x) { return JSON.stringify(x); }).join(", ") + "]" : JSON.stringify(v)));
    });
    fm.push("---", "");
    return new File([fm.join("\n") + body], (meta.id || "draft") + ".md", { type: "text/markdown" });
  }
  async function save(publish) {
    var form = $("write");
    if (!form.reportValidity()) return;
    var meta = writeMeta(), body = $("w-body").value;
    var out;
    if (state.editing) {
      var upd = { title: meta.title, type: meta.type, language: meta.language, tags: meta.tags, body: body, publish: publish,
        product: meta.product || null, valid_until: meta.valid_until || null, review_by: meta.review_by || null };
      out = await api("/v1/articles/" + encodeURIComponent(state.editing), { method: "PUT", body: upd });
    } else {
      meta.body = body; meta.publish = publish;
      out = await api("/v1/articles", { body: meta });
    }
    toast(t("saved", { id: out.id, rev: out.latest_revision }));
    state.editing = out.id; setWriteMode();
    await loadArticles();
  }
  function setWriteMode() {
    $("write-mode").textContent = state.editing ? t("editing", { id: state.editing }) : t("newArticle");
    $("w-id").readOnly = !!state.editing;
    $("w-save").textContent = state.editing ? t("saveRevision") : t("saveDraft");
  }
  function fillEditor(fields) {
    $("w-id").value = fields.id || ""; $("w-title").value = fields.title || ""; $("w-type").value = fields.type || "faq";
    $("w-lang").value = fields.language || state.lang; $("w-product").value = fields.product || "";
    $("w-tags").value = (fields.tags || []).join(", "); $("w-valid").value = fields.valid_until || "";
    $("w-review").value = fields.review_by || ""; $("w-body").value = fields.body || "";
    $("write-preview").innerHTML = "";
    setWriteMode();
  }

  // ------------------------------------------------------------------ preview + upload
  function renderPreview(target, data) {
    target.innerHTML = "<h2>" + esc(t("previewTitle")) + "</h2>" + data.articles.map(function (a) {
      if (a.error) return '<div class="art"><strong>' + esc(a.file) + '</strong> <span class="badge archived">' + esc(t("parseError", { msg: a.error })) + "</span></div>";
      var m = a.meta;
      return '<div class="art"><div class="detail-head"><div><strong>' + esc(m.title) + '</strong><div class="muted">' + esc(a.file) + " · " +
        esc(m.id) + " · " + esc(m.type) + " · " + esc(m.language) + '</div></div><span class="badge">' + esc(t("chunks", { n: a.chunks.length })) +
        '</span></div><table class="grid compact chunks"><thead><tr><th>' + esc(t("colIndex")) + "</th><th>" + esc(t("colKind")) + "</th><th>" +
        esc(t("colSection")) + "</th><th>" + esc(t("colTokens")) + "</th><th>" + esc(t("colText")) + "</th></tr></thead><tbody>" +
        a.chunks.map(function (c) {
          return "<tr><td>" + c.index + "</td><td>" + esc(c.kind) + "</td><td>" + esc(c.section) + "</td><td>" + c.tokens +
            '</td><td><div class="chunk-text">' + esc(c.text) + "</div></td></tr>";
        }).join("") + "</tbody></table></div>";
    }).join("");
  }
  function uploadForm(withPublish) {
    var fd = new FormData();
    Array.prototype.forEach.call($("u-files").files, function (f) { fd.append("files", f, f.name); });
    if (withPublish !== undefined) fd.append("publish", withPublish ? "true" : "false");
    return fd;
  }
  async function upload(publish) {
    if (!$("u-files").files.length) return;
    $("u-report").textContent = "";
    var r = await api("/v1/articles/upload", { body: uploadForm(publish) });
    $("u-report").innerHTML = esc(t("uploaded", { files: r.files, articles: r.articles, chunks: r.chunks_total })) +
      (r.errors.length ? '<ul class="err">' + r.errors.map(function (e) { return "<li>" + esc(e.file) + ": " + esc(e.error) + "</li>"; }).join("") + "</ul>" : "");
    toast(t("uploaded", { files: r.files, articles: r.articles, chunks: r.chunks_total }), r.errors.length > 0);
    await loadArticles();
  }

  // ------------------------------------------------------------------ review lists + gaps
  function isoDay(offset) { var d = new Date(Date.now() + offset * 86400000); return d.toISOString().slice(0, 10); }
  function reviewRows(list) {
    return list.length ? list.map(function (a) {
      return '<tr><td><button type="button" class="link" data-open="' + esc(a.id) + '">' + esc(a.title) + '</button><div class="muted">' + esc(a.id) +
        "</div></td><td>" + statusBadge(a.status) + "</td><td>" + esc(a.valid_until || "") + "</td><td>" + esc(a.review_by || "") + "</td></tr>";
    }).join("") : '<tr><td colspan="4" class="muted">' + esc(t("none")) + "</td></tr>";
  }
  async function loadReview() {
    var exp = await api("/v1/articles?expiring_before=" + isoDay(30));
    var rev = await api("/v1/articles?review_before=" + isoDay(1));
    $("expiring").querySelector("tbody").innerHTML = reviewRows(exp);
    $("reviewdue").querySelector("tbody").innerHTML = reviewRows(rev);
    var stale = await api("/v1/kb/stale?days=30");
    $("stale").querySelector("tbody").innerHTML = stale.length ? stale.map(function (a) {
      return '<tr data-stale="' + esc(a.article_id) + '"><td><button type="button" class="link" data-open="' + esc(a.article_id) + '">' +
        esc(a.title) + '</button><div class="muted">' + esc(a.article_id) + "</div></td><td>" + esc(a.valid_until || "") + "</td><td>" +
        esc(a.review_by || "") + "</td><td>" + (a.questions.length ? a.questions.map(esc).join("<br>") : '<span class="muted">–</span>') + "</td></tr>";
    }).join("") : '<tr><td colspan="4" class="muted">' + esc(t("none")) + "</td></tr>";
  }
  async function loadGaps() {
    var gaps = await api("/v1/kb/gaps");
    state.gaps = gaps;
    $("gaps").querySelector("tbody").innerHTML = gaps.length ? gaps.map(function (g, i) {
      return "<tr><td>" + esc(g.question) + "</td><td>" + g.count + "</td><td>" + esc(fmtTime(g.last_seen)) +
        '</td><td><button type="button" data-gap="' + i + '">' + esc(t("draftFromGap")) + "</button></td></tr>";
    }).join("") : '<tr><td colspan="4" class="muted">' + esc(t("none")) + "</td></tr>";
  }
  function draftFromGap(g) {
    state.editing = null;
    var lang = /[\u4e00-\u9fff]/.test(g.question) ? "zh" : "en";
    fillEditor({ id: "gap-" + isoDay(0).replace(/-/g, "") + "-" + Math.random().toString(36).slice(2, 6), title: g.question.slice(0, 120),
      type: "faq", language: lang, body: I.t(lang, "gapTemplate", { q: g.question }) });
    show("write"); $("w-title").focus();
  }

  // ------------------------------------------------------------------ language + wiring
  function setLang(lang) {
    state.lang = lang; I.apply(document, lang); setWriteMode();
    if (state.articles.length) renderArticles();
    if (state.current) guard(function () { return openArticle(state.current.id); });
    if (state.view === "review") guard(loadReview);
    if (state.view === "gaps") { guard(loadGaps); guard(loadSuggested); }
  }
  $("lang").addEventListener("click", function () { setLang(state.lang === "zh" ? "en" : "zh"); });
  $("keybar").addEventListener("submit", function (e) {
    e.preventDefault(); state.key = $("key-input").value.trim(); sessionStorage.setItem("assist-km-key", state.key);
    $("key-input").value = ""; $("keybar").hidden = true; toast(""); guard(loadArticles);
  });
  $("filter").addEventListener("input", renderArticles);
  $("refresh").addEventListener("click", function () { guard(loadArticles); });
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-open],[data-action],[data-view-rev],[data-gap]");
    if (!el) return;
    if (el.hasAttribute("data-open")) { show("articles"); guard(function () { return openArticle(el.getAttribute("data-open")); }); }
    else if (el.hasAttribute("data-action")) gated(function () { return workflow(el.getAttribute("data-action")); });
    else if (el.hasAttribute("data-view-rev")) guard(async function () {
      var r = await api("/v1/articles/" + encodeURIComponent(state.current.id) + "/revisions/" + el.getAttribute("data-view-rev"));
      $("rev-text").hidden = false; $("rev-text").textContent = r.text;
    });
    else if (el.hasAttribute("data-gap")) draftFromGap(state.gaps[+el.getAttribute("data-gap")]);
  });
  $("rb-go").addEventListener("click", function () { guard(function () { return workflow("rollback"); }); });
  $("gate-override").addEventListener("click", function () {
    var reason = $("gate-reason").value.trim();
    if (!reason) { toast(t("gateNeedReason"), true); $("gate-reason").focus(); return; }
    gated(async function () { await workflow("publish", reason); $("gate-reason").value = ""; });
  });
  async function loadSuggested() {
    var rows = await api("/v1/kb/suggestions");
    $("suggested").querySelector("tbody").innerHTML = rows.length ? rows.map(function (s) {
      return '<tr data-suggested="' + esc(s.article_id) + '"><td><button type="button" class="link" data-open="' + esc(s.article_id) + '">' +
        esc(s.title) + '</button><div class="muted">' + esc(s.article_id) + "</div></td><td>" + esc(s.language) + "</td><td>" +
        s.questions.map(esc).join("<br>") + "</td><td>" + statusBadge(s.status) + "</td></tr>";
    }).join("") : '<tr><td colspan="4" class="muted">' + esc(t("none")) + "</td></tr>";
  }
  $("sg-run").addEventListener("click", function () {
    guard(async function () {
      $("sg-run").disabled = true;
      try {
        var r = await api("/v1/kb/suggestions/run", { body: {} });
        $("sg-report").textContent = t("sgDone", { n: r.drafts.length, covered: r.covered });
        await loadSuggested(); await loadArticles();
      } finally { $("sg-run").disabled = false; }
    });
  });
  $("diff-go").addEventListener("click", function () {
    guard(async function () {
      var r = await api("/v1/articles/" + encodeURIComponent(state.current.id) + "/diff?from=" + $("diff-from").value + "&to=" + $("diff-to").value);
      renderDiff(r.diff);
    });
  });
  $("d-edit").addEventListener("click", function () {
    guard(async function () {
      var a = state.current;
      var r = await api("/v1/articles/" + encodeURIComponent(a.id) + "/revisions/" + a.latest_revision);
      state.editing = a.id;
      fillEditor({ id: a.id, title: a.title, type: a.type, language: a.language, product: a.product, tags: a.tags,
        valid_until: a.valid_until, review_by: a.review_by, body: r.text });
      show("write");
    });
  });
  $("write").addEventListener("submit", function (e) { e.preventDefault(); guard(function () { return save(false); }); });
  $("w-publish").addEventListener("click", function () {
    guard(async function () {
      try { return await save(true); }
      catch (e) {
        if (!(e.data && e.data.code === "publish_blocked") || !state.editing) throw e;
        show("articles"); await openArticle(state.editing); showGate(e); toast(t("gateBlocked"), true);
      }
    });
  });
  $("w-preview").addEventListener("click", function () {
    guard(async function () {
      if (!$("write").reportValidity()) return;
      var fd = new FormData(); fd.append("files", asMarkdownFile(writeMeta(), $("w-body").value));
      renderPreview($("write-preview"), await api("/v1/articles/preview", { body: fd }));
    });
  });
  $("u-preview").addEventListener("click", function () {
    guard(async function () {
      if (!$("u-files").files.length) return;
      renderPreview($("upload-preview"), await api("/v1/articles/preview", { body: uploadForm() }));
    });
  });
  $("u-upload").addEventListener("click", function () { guard(function () { return upload(false); }); });
  $("u-publish").addEventListener("click", function () { guard(function () { return upload(true); }); });

  setLang(state.lang);
  if (!state.key) { $("keybar").hidden = false; toast(t("kmNoKey")); }
  else guard(loadArticles);
})();
