/* The coverage calibration panel of /km (knowledge gaps tab): the covered thresholds fitted
 * from the tenant's own content at publish time, the estimated answerable recall and refusal
 * rate, the fusion weights and when the fit ran (GET /v1/kb/calibration; POST re-fits). */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var S = {
    zh: { title: "覆盖判定校准", hint: "发布后根据本知识库自己的内容拟合：用每篇文章的问法、标题和首句作探针，与去掉该文章后的检索结果和无关问题对比。",
      dense: "语义相似度阈值", sparse: "关键词（BM25）阈值", off: "关闭", byLang: "按问题语言", recall: "预计可答问题覆盖率",
      refusal: "预计无答案问题拒答率", fusion: "融合权重（语义:关键词）", fitted: "拟合时间", probes: "探针",
      cross: "跨语言探针", none: "尚未校准：使用默认阈值。", run: "重新校准", running: "校准中…", done: "已更新", configured: "默认" },
    en: { title: "Coverage calibration", hint: "Fitted from this knowledge base's own content after each publish: each article's question phrasings, headings and first sentences as probes, against the search without that article and unrelated questions.",
      dense: "Dense similarity threshold", sparse: "Keyword (BM25) threshold", off: "off", byLang: "By question language",
      recall: "Estimated answerable recall", refusal: "Estimated refusal of uncovered questions", fusion: "Fusion weights (dense:sparse)",
      fitted: "Fitted", probes: "Probes", cross: "Cross-lingual probes", none: "Not calibrated yet: the default thresholds apply.",
      run: "Re-calibrate", running: "Calibrating…", done: "Updated", configured: "default" },
  };
  function st() { return window.__assistKm || {}; }
  function s(k) { var l = st().lang === "en" ? "en" : "zh"; return S[l][k]; }
  function esc(v) {
    return String(v == null ? "" : v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function pct(x) { return x == null ? "–" : Math.round(x * 100) + "%"; }
  function row(k, v) { return "<dt>" + esc(k) + "</dt><dd>" + v + "</dd>"; }
  function render(c) {
    $("calib-title").textContent = s("title");
    $("calib-hint").textContent = s("hint");
    $("calib-run").textContent = s("run");
    if (!c) { $("calib-body").innerHTML = ""; return; }
    var fit = c.coverage_fit || {};
    var html = "";
    if (!c.calibrated) html += row("", esc(s("none")));
    html += row(s("dense"), esc(c.min_dense_score));
    html += row(s("sparse"), c.min_sparse_score == null ? esc(s("off")) : esc(c.min_sparse_score));
    var langs = Object.keys(c.by_language || {});
    if (langs.length) {
      html += row(s("byLang"), langs.map(function (l) {
        var t = c.by_language[l];
        return esc(l) + ": " + esc(t.min_dense_score) + (t.min_sparse_score == null ? "" : " / " + esc(t.min_sparse_score));
      }).join("; "));
    }
    if (c.calibrated) {
      html += row(s("recall"), pct(c.estimated_recall));
      html += row(s("refusal"), pct(c.estimated_refusal));
    }
    html += row(s("fusion"), c.fusion_weights ? esc(c.fusion_weights.join(":")) + (c.fusion_source === "tenant" ? "" : " (" + esc(s("configured")) + ")") : "RRF");
    if (fit.probes) {
      html += row(s("probes"), esc(fit.probes.total) + " / " + esc(fit.articles));
      html += row(s("cross"), esc((fit.cross_lingual || {}).status || ""));
    }
    if (c.fitted_at) html += row(s("fitted"), esc(new Date(c.fitted_at).toLocaleString(st().lang === "en" ? "en-GB" : "zh-CN")));
    $("calib-body").innerHTML = html;
  }
  async function call(method) {
    var key = st().key;
    if (!key) return null;
    var res = await fetch("/v1/kb/calibration", { method: method, headers: { "Authorization": "Bearer " + key } });
    var data = await res.json().catch(function () { return {}; });
    if (!res.ok) throw new Error((data.error && data.error.message) || ("HTTP " + res.status));
    return data;
  }
  async function load() {
    try { render(await call("GET")); $("calib-status").textContent = ""; }
    catch (e) { $("calib-status").textContent = e.message; }
  }
  $("calib-run").addEventListener("click", async function () {
    $("calib-status").textContent = s("running");
    $("calib-run").disabled = true;
    try { render(await call("POST")); $("calib-status").textContent = s("done"); }
    catch (e) { $("calib-status").textContent = e.message; }
    finally { $("calib-run").disabled = false; }
  });
  var tab = $("tab-gaps");
  if (tab) tab.addEventListener("click", load);
  var lang = $("lang");
  if (lang) lang.addEventListener("click", function () { setTimeout(load, 0); });
  render(null);
  load();
})();
