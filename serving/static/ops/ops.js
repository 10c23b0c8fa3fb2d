/* /ops: the supervisors' page (plain JS, no build step).
 *
 * The supervisor key comes from the URL fragment (/ops/#key=...&lang=en; removed from the
 * address bar at once) or the key form, and is kept in sessionStorage for this tab only.
 * Reads /v1/ops/summary, /kpis, /conversations, /conversations/{id}, /alerts, /topics.
 */
(function () {
  "use strict";
  var frag = new URLSearchParams(location.hash.slice(1));
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  if (frag.get("key")) sessionStorage.setItem("assist-ops-key", frag.get("key"));
  var state = {
    key: sessionStorage.getItem("assist-ops-key"),
    lang: frag.get("lang") || ((navigator.language || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en"),
    month: null, summary: null, offset: 0, limit: 25, selected: null
  };

  var S = {
    zh: {
      title: "服务质量监控", tabOverview: "总览", tabConversations: "会话质检", tabTopics: "话题", month: "月份",
      key: "主管密钥", connect: "连接", redLinesToday: "今日红线", alerts: "本月红线事件", kpisMonth: "本月指标（对照目标）",
      trend: "每日趋势（柱：会话量，红线：投诉率）", agents: "坐席", colMetric: "指标", colWindow: "窗口", colState: "状态",
      colWorst: "最差值", colLine: "红线", colAgent: "坐席", colConvs: "会话数", colQa: "质检得分", colSla: "首响达标率",
      colComplaint: "投诉率", colSat: "满意度", onlyComplaints: "仅投诉", onlyFailed: "仅未通过", colId: "编号",
      colDay: "日期", colChannel: "渠道", colFindings: "问题数", prev: "上一页", next: "下一页",
      pick: "选择一条会话查看质检结果。", topicsHint: "用语义向量将本月会话聚类为话题，并标出周环比上升的话题（首次计算需要一些时间）。",
      loadTopics: "计算话题", colTopic: "话题", colTrend: "周趋势", allAgents: "全部坐席", allQueues: "全部队列",
      allChannels: "全部渠道", allChecks: "全部问题类型", crossed: "已越线", under: "正常", noData: "无数据",
      line: "红线 {op} {v}", target: "目标 {v}", firing: "告警中", resolved: "已恢复", none: "无",
      count: "共 {n} 条", findings: "质检问题", noFindings: "未发现问题", score: "得分 {s}", passed: "通过", failed: "未通过",
      predicted: "预测满意度 {s}", rated: "客户评分 {s}", reasons: "原因", rising: "上升", computing: "计算中…",
      customer: "客户", agent: "坐席", bot: "机器人", system: "系统", noKey: "请输入主管密钥。", lang: "EN",
      first_response_sla: "首响达标率", aht_seconds: "平均处理时长(秒)", fcr: "一次解决率", closed_24h: "24小时结案率",
      complaint_rate: "投诉率", timeout_rate: "超时率", negative_share: "负面情绪占比", qa_score: "质检得分",
      satisfaction: "满意度", conversations: "会话数",
      c_greeting: "未问候", c_closing: "未结束语", c_empathy: "未安抚/致歉", c_forbidden_words: "禁用语",
      c_pii_exposure: "泄露个人信息", c_promises: "越权承诺", c_first_response: "首次响应超时", c_reply_time: "回复超时",
      c_escalation_missed: "未按规定升级", c_escalation_target: "升级对象错误", c_escalation_late: "升级超时",
      c_no_reply: "无人回复", c_grounding: "无依据"
    },
    en: {
      title: "Service quality", tabOverview: "Overview", tabConversations: "Conversations", tabTopics: "Topics", month: "Month",
      key: "Supervisor key", connect: "Connect", redLinesToday: "Red lines today", alerts: "Red-line events this month",
      kpisMonth: "KPIs this month (against targets)", trend: "Daily trend (bars: volume, red: complaint rate)",
      agents: "Agents", colMetric: "Metric", colWindow: "Window", colState: "State", colWorst: "Worst", colLine: "Line",
      colAgent: "Agent", colConvs: "Conversations", colQa: "QA score", colSla: "First-response SLA",
      colComplaint: "Complaint rate", colSat: "Satisfaction", onlyComplaints: "Complaints only", onlyFailed: "Failed QA only",
      colId: "Id", colDay: "Day", colChannel: "Channel", colFindings: "Findings", prev: "Previous", next: "Next",
      pick: "Pick a conversation to see its QA findings.",
      topicsHint: "Conversations of the month clustered into topics with the embedder; topics rising week over week are flagged (the first run takes a while).",
      loadTopics: "Compute topics", colTopic: "Topic", colTrend: "Weekly trend", allAgents: "All agents",
      allQueues: "All queues", allChannels: "All channels", allChecks: "All findings", crossed: "crossed", under: "ok",
      noData: "no data", line: "line {op} {v}", target: "target {v}", firing: "firing", resolved: "resolved", none: "none",
      count: "{n} conversations", findings: "QA findings", noFindings: "No findings", score: "score {s}", passed: "passed",
      failed: "failed", predicted: "predicted satisfaction {s}", rated: "customer rating {s}", reasons: "reasons",
      rising: "rising", computing: "Computing…", customer: "Customer", agent: "Agent", bot: "Bot", system: "System",
      noKey: "Enter a supervisor key.", lang: "中文",
      first_response_sla: "First-response SLA", aht_seconds: "Avg handling time (s)", fcr: "First-contact resolution",
      closed_24h: "Closed within 24 h", complaint_rate: "Complaint rate", timeout_rate: "Timeout rate",
      negative_share: "Negative sentiment", qa_score: "QA score", satisfaction: "Satisfaction", conversations: "Conversations",
      c_greeting: "no greeting", c_closing: "no closing", c_empathy: "no apology when upset", c_forbidden_words: "forbidden words",
      c_pii_exposure: "personal data exposed", c_promises: "unauthorised promise", c_first_response: "slow first response",
      c_reply_time: "slow reply", c_escalation_missed: "escalation missed", c_escalation_target: "escalated to the wrong desk",
      c_escalation_late: "escalated late", c_no_reply: "no reply", c_grounding: "ungrounded"
    }
  };
  var CHECKS = ["greeting", "closing", "empathy", "forbidden_words", "pii_exposure", "promises", "first_response",
                "reply_time", "escalation_missed", "escalation_target", "escalation_late", "no_reply"];
  var RATES = {first_response_sla: 1, fcr: 1, closed_24h: 1, complaint_rate: 1, timeout_rate: 1, negative_share: 1};
  var LOWER_BETTER = {complaint_rate: 1, timeout_rate: 1, negative_share: 1, aht_seconds: 1};

  function t(k, vars) {
    var s = (S[state.lang] && S[state.lang][k]) || S.en[k] || k;
    return vars ? s.replace(/\{(\w+)\}/g, function (_, n) { return vars[n]; }) : s;
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else if (k === "cls") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function fmt(name, v) {
    if (v == null) return "–";
    if (RATES[name]) return (v * 100).toFixed(1) + "%";
    if (name === "aht_seconds") return Math.round(v) + "";
    return (Math.round(v * 100) / 100) + "";
  }
  function toast(msg) { $("toast").textContent = msg || ""; }

  function api(path) {
    return fetch(path, {headers: {"Authorization": "Bearer " + state.key}}).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error((body.error && body.error.message) || r.statusText);
        return body;
      });
    });
  }

  function applyI18n() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    document.querySelectorAll("[data-i18n]").forEach(function (e) { e.textContent = t(e.getAttribute("data-i18n")); });
    $("lang").textContent = t("lang");
  }

  // ------------------------------------------------------------------ overview
  function loadOverview() {
    var q = state.month ? "?day=" + lastDayOf(state.month) : "";
    return api("/v1/ops/summary" + q).then(function (s) {
      state.summary = s;
      if (!state.month) state.month = s.day.slice(0, 7);
      fillMonths(s.months);
      renderOverview(s);
      fillFilters(s);
    });
  }
  function lastDayOf(month) {
    var y = +month.slice(0, 4), m = +month.slice(5, 7);
    var d = new Date(Date.UTC(y, m, 0));
    return d.toISOString().slice(0, 10);
  }
  function fillMonths(months) {
    var sel = $("month");
    if (sel.options.length === months.length) { sel.value = state.month; return; }
    sel.textContent = "";
    months.forEach(function (m) { sel.appendChild(el("option", {value: m, text: m})); });
    sel.value = state.month;
  }
  function renderOverview(s) {
    $("today").textContent = s.day;
    var box = $("redlines"); box.textContent = "";
    s.red_lines.forEach(function (l) {
      var op = l.direction === "above" ? ">" : "<";
      box.appendChild(el("div", {cls: "card" + (l.crossed ? " crossed" : ""), "data-metric": l.metric}, [
        el("div", {cls: "name", text: t(l.metric)}),
        el("div", {cls: "value", text: fmt(l.metric, l.value)}),
        el("div", {cls: "sub", text: t("line", {op: op, v: fmt(l.metric, l.threshold)}) + " · " +
          (l.value == null ? t("noData") : l.crossed ? t("crossed") : t("under"))})
      ]));
    });
    var tb = $("alerts").tBodies[0]; tb.textContent = "";
    if (!s.alerts.length) tb.appendChild(el("tr", {}, [el("td", {colspan: "5", text: t("none")})]));
    s.alerts.forEach(function (a) {
      tb.appendChild(el("tr", {}, [el("td", {}, [el("span", {cls: "tag bad", text: t(a.metric)})]),
        el("td", {text: a.window}), el("td", {}, [el("span", {cls: "tag " + (a.state === "firing" ? "bad" : "ok"), text: t(a.state)})]),
        el("td", {text: fmt(a.metric, a.value)}), el("td", {text: fmt(a.metric, a.threshold)})]));
    });
    var kp = $("kpis"); kp.textContent = "";
    ["conversations", "first_response_sla", "fcr", "closed_24h", "complaint_rate", "timeout_rate", "negative_share",
     "qa_score", "satisfaction", "aht_seconds"].forEach(function (name) {
      var v = s.month[name], target = s.targets[name], cls = "card";
      if (target != null && v != null) cls += ((LOWER_BETTER[name] ? v <= target : v >= target) ? " ok" : " miss");
      var first = s.trend.length ? s.trend[0][name] : null, last = s.trend.length ? s.trend[s.trend.length - 1][name] : null;
      var arrow = first != null && last != null ? (last > first ? " ▲" : last < first ? " ▼" : "") : "";
      kp.appendChild(el("div", {cls: cls, "data-kpi": name}, [el("div", {cls: "name", text: t(name)}),
        el("div", {cls: "value", text: name === "conversations" ? String(v) : fmt(name, v)}),
        el("div", {cls: "sub", text: (target != null ? t("target", {v: fmt(name, target)}) : "") + arrow})]));
    });
    var tr = $("trend"); tr.textContent = "";
    var max = Math.max.apply(null, s.trend.map(function (r) { return r.conversations; }).concat([1]));
    var line = (s.red_lines.filter(function (l) { return l.metric === "complaint_rate"; })[0] || {}).threshold;
    s.trend.forEach(function (r) {
      var hot = line != null && r.complaint_rate > line;
      tr.appendChild(el("div", {cls: "day", title: r.day + ": " + r.conversations + " · " + fmt("complaint_rate", r.complaint_rate)}, [
        el("div", {cls: "comp", style: "bottom:" + Math.min(100, (r.complaint_rate || 0) * 200) + "%"}),
        el("div", {cls: "bar" + (hot ? " hot" : ""), style: "height:" + (100 * r.conversations / max) + "%"})]));
    });
    var ag = $("agents").tBodies[0]; ag.textContent = "";
    s.agents.slice().sort(function (a, b) { return (a.qa_score || 0) - (b.qa_score || 0); }).forEach(function (a) {
      ag.appendChild(el("tr", {"data-agent": a.agent}, [el("td", {text: a.agent}), el("td", {text: String(a.conversations)}),
        el("td", {text: fmt("qa_score", a.qa_score)}), el("td", {text: fmt("first_response_sla", a.first_response_sla)}),
        el("td", {text: fmt("complaint_rate", a.complaint_rate)}), el("td", {text: fmt("satisfaction", a.satisfaction)})]));
    });
  }

  // ------------------------------------------------------------------ conversations
  function option(sel, value, label) { sel.appendChild(el("option", {value: value, text: label})); }
  function fillFilters(s) {
    var a = $("f-agent"), q = $("f-queue"), c = $("f-channel"), k = $("f-check");
    [[a, "allAgents", s.agents, "agent"], [q, "allQueues", s.queues, "queue"]].forEach(function (x) {
      var keep = x[0].value; x[0].textContent = ""; option(x[0], "", t(x[1]));
      x[2].forEach(function (r) { option(x[0], r[x[3]], r[x[3]]); }); x[0].value = keep;
    });
    var keepC = c.value; c.textContent = ""; option(c, "", t("allChannels"));
    ["chat", "messaging", "phone", "email"].forEach(function (v) { option(c, v, v); }); c.value = keepC;
    var keepK = k.value; k.textContent = ""; option(k, "", t("allChecks"));
    CHECKS.forEach(function (v) { option(k, v, t("c_" + v)); }); k.value = keepK;
  }
  function loadConversations() {
    var p = new URLSearchParams({month: state.month || "", limit: state.limit, offset: state.offset});
    [["agent", "f-agent"], ["queue", "f-queue"], ["channel", "f-channel"], ["check", "f-check"]].forEach(function (x) {
      if ($(x[1]).value) p.set(x[0], $(x[1]).value);
    });
    if ($("f-complaint").checked) p.set("complaint", "true");
    if ($("f-failed").checked) p.set("passed", "false");
    return api("/v1/ops/conversations?" + p).then(function (res) {
      $("conv-count").textContent = t("count", {n: res.total});
      var tb = $("conversations").tBodies[0]; tb.textContent = "";
      res.items.forEach(function (r) {
        var row = el("tr", {"data-id": r.id, tabindex: "0"}, [el("td", {text: r.id}), el("td", {text: r.day}),
          el("td", {text: r.channel}), el("td", {text: r.agent}),
          el("td", {}, [el("span", {cls: "tag " + (r.qa_passed ? "ok" : "bad"), text: fmt("qa_score", r.qa_score)})]),
          el("td", {text: String(r.findings_count || 0)})]);
        row.addEventListener("click", function () { openConversation(r.id, row); });
        row.addEventListener("keydown", function (e) { if (e.key === "Enter") openConversation(r.id, row); });
        tb.appendChild(row);
      });
      $("prev").disabled = state.offset === 0;
      $("next").disabled = state.offset + state.limit >= res.total;
    });
  }
  function highlighted(text, spans) {
    var out = el("div", {cls: "text"}), pos = 0;
    spans.sort(function (a, b) { return a[0] - b[0]; }).forEach(function (s) {
      if (s[0] < pos) return;
      out.appendChild(document.createTextNode(text.slice(pos, s[0])));
      out.appendChild(el("mark", {title: s[2], text: text.slice(s[0], s[1])}));
      pos = s[1];
    });
    out.appendChild(document.createTextNode(text.slice(pos)));
    return out;
  }
  function openConversation(id, row) {
    document.querySelectorAll("#conversations tr.sel").forEach(function (r) { r.classList.remove("sel"); });
    if (row) row.classList.add("sel");
    return api("/v1/ops/conversations/" + encodeURIComponent(id)).then(function (c) {
      var d = $("detail"); d.textContent = "";
      d.appendChild(el("h2", {text: c.id + " · " + c.channel + " · " + c.agent}));
      d.appendChild(el("p", {}, [el("span", {cls: "tag " + (c.qa_passed ? "ok" : "bad"),
        text: t("score", {s: fmt("qa_score", c.qa_score)}) + " · " + (c.qa_passed ? t("passed") : t("failed"))}), " ",
        el("span", {cls: "tag", text: c.satisfaction != null ? t("rated", {s: c.satisfaction}) :
          t("predicted", {s: c.predicted_satisfaction})})]));
      if (c.satisfaction_reasons && c.satisfaction_reasons.length)
        d.appendChild(el("p", {cls: "muted", text: t("reasons") + ": " + c.satisfaction_reasons.map(function (r) {
          return r.reason + " " + (r.effect > 0 ? "+" : "") + r.effect; }).join(", ")}));
      d.appendChild(el("h3", {text: t("findings")}));
      var list = el("div", {id: "findings"});
      if (!c.findings.length) list.appendChild(el("p", {cls: "muted", text: t("noFindings")}));
      c.findings.forEach(function (f) {
        list.appendChild(el("div", {cls: "finding", "data-check": f.check}, [
          el("span", {cls: "sev-" + f.severity, text: "● " + t("c_" + f.check) + " "}),
          el("span", {cls: "muted", text: (f.seq != null ? "#" + f.seq + " " : "") + f.message})]));
      });
      d.appendChild(list);
      c.turns.forEach(function (turn) {
        var spans = c.findings.filter(function (f) { return f.seq === turn.seq && f.span_start != null; })
          .map(function (f) { return [f.span_start, f.span_end, t("c_" + f.check)]; });
        var flagged = c.findings.some(function (f) { return f.seq === turn.seq; });
        d.appendChild(el("div", {cls: "turn " + turn.role + (flagged ? " flagged" : ""), "data-seq": String(turn.seq)}, [
          el("div", {cls: "who", text: "#" + turn.seq + " " + t(turn.role) + " · " + (turn.ts || "").slice(11, 19)}),
          highlighted(turn.text, spans)]));
      });
    }).catch(function (e) { toast(e.message); });
  }

  // ------------------------------------------------------------------ topics
  function loadTopics() {
    var btn = $("load-topics"); btn.disabled = true; btn.textContent = t("computing");
    return api("/v1/ops/topics?month=" + encodeURIComponent(state.month || "")).then(function (res) {
      var tb = $("topics").tBodies[0]; tb.textContent = "";
      res.topics.forEach(function (tp) {
        var trend = tp.weeks.map(function (w) { return w.conversations; }).join(" → ");
        tb.appendChild(el("tr", {"data-topic": String(tp.id)}, [el("td", {text: "T" + tp.id}), el("td", {text: tp.name}),
          el("td", {text: String(tp.size)}), el("td", {text: fmt("complaint_rate", tp.complaint_share)}),
          el("td", {}, [trend + " "].concat(tp.rising_weeks.map(function (w) {
            return el("span", {cls: "tag bad", title: w.reasons.join("; "), text: t("rising") + " " + w.week}); })))]));
      });
    }).catch(function (e) { toast(e.message); }).then(function () { btn.disabled = false; btn.textContent = t("loadTopics"); });
  }

  // ------------------------------------------------------------------ wiring
  function show(view) {
    document.querySelectorAll(".tabs button").forEach(function (b) {
      var on = b.getAttribute("data-view") === view;
      b.setAttribute("aria-selected", on ? "true" : "false");
      $("view-" + b.getAttribute("data-view")).hidden = !on;
    });
    if (view === "conversations") loadConversations().catch(function (e) { toast(e.message); });
  }
  function start() {
    applyI18n();
    if (!state.key) { $("keybar").hidden = false; toast(t("noKey")); return; }
    $("keybar").hidden = true; toast("");
    loadOverview().catch(function (e) { toast(e.message); });
  }
  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () { show(b.getAttribute("data-view")); });
  });
  $("lang").addEventListener("click", function () {
    state.lang = state.lang === "zh" ? "en" : "zh"; applyI18n();
    if (state.summary) { renderOverview(state.summary); fillFilters(state.summary); }
  });
  $("month").addEventListener("change", function () {
    state.month = $("month").value; state.offset = 0;
    loadOverview().then(function () { if (!$("view-conversations").hidden) return loadConversations(); })
      .catch(function (e) { toast(e.message); });
  });
  ["f-agent", "f-queue", "f-channel", "f-check", "f-complaint", "f-failed"].forEach(function (id) {
    $(id).addEventListener("change", function () { state.offset = 0; loadConversations().catch(function (e) { toast(e.message); }); });
  });
  $("prev").addEventListener("click", function () { state.offset = Math.max(0, state.offset - state.limit); loadConversations(); });
  $("next").addEventListener("click", function () { state.offset += state.limit; loadConversations(); });
  $("load-topics").addEventListener("click", loadTopics);
  $("keybar").addEventListener("submit", function (e) {
    e.preventDefault(); state.key = $("key-input").value.trim(); sessionStorage.setItem("assist-ops-key", state.key); start();
  });
  start();
})();
