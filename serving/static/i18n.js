/* Shared zh/en interface strings for /widget and /km (no build step: a plain global).
 *
 *   AssistI18n.detect()            -> "zh" | "en" (from navigator.language)
 *   AssistI18n.t("zh", "insert")   -> "插入"
 *   AssistI18n.t("en", "deadlineIn", {time: "04:59"})
 *   AssistI18n.apply(root, lang)   -> fills [data-i18n], [data-i18n-placeholder],
 *                                     [data-i18n-aria], [data-i18n-title]
 */
(function () {
  "use strict";
  var S = {
    zh: {
      // widget
      appTitle: "回复助手", langToggle: "EN", langToggleLabel: "Switch to English",
      conversation: "对话", pasteSummary: "粘贴对话试用", pasteLabel: "对话内容（每行一条，以「客户：」或「坐席：」开头）",
      pastePlaceholder: "客户：您好，我想咨询一个问题。\n坐席：您好，请问有什么可以帮您？\n客户：……",
      suggest: "生成建议回复", waiting: "等待对话…", waitingHint: "接入方通过 postMessage 传入实时对话，或在上方粘贴对话。",
      drafting: "正在生成…", searching: "正在检索知识库…", suggestedReply: "建议回复",
      stDrafted: "AI 草稿", stCurated: "标准答案（已审核）", stNotCovered: "知识库未覆盖", stNoDraft: "模型不可用",
      curatedHint: "这是知识库中已审核的标准答案，可直接使用。", draftedHint: "AI 根据知识库生成的草稿，发送前请核对引用。",
      notCoveredHint: "知识库中没有可靠依据，未生成回复。该问题已记入知识缺口，请人工回复。",
      noDraftHint: "模型服务暂时不可用，未能生成回复。下方仍列出检索到的资料，可参考后人工回复。",
      citations: "引用", sources: "检索到的资料", noSources: "没有检索到资料",
      related: "相关文章", relatedInsertLink: "插入链接", relatedInsertSnippet: "插入摘要", relatedMatched: "匹配",
      kindFaq: "常见问题", kindArticle: "文章", relatedOpen: "打开相关文章：{title}", relatedInserted: "已加入回复",
      openSource: "打开引用 {n}：{title}", qa: "质检", qaPassed: "质检通过", qaFailed: "质检未通过", qaScore: "得分 {score}",
      qaChecking: "质检中…", qaNone: "未发现问题",
      sevCritical: "严重", sevMajor: "重要", sevMinor: "轻微", sevInfo: "提示",
      insert: "插入", copy: "复制", edit: "编辑", reject: "拒绝", done: "完成编辑", cancel: "取消",
      editLabel: "编辑回复", rejectTitle: "拒绝原因", rejectLabel: "请说明拒绝原因", rejectSend: "提交",
      rejectPlaceholder: "例如：信息不准确、语气不合适…",
      inserted: "已插入到回复框", copied: "已复制", rejected: "已拒绝，感谢反馈", feedbackFailed: "反馈未能保存：{msg}",
      escalate: "建议升级", escTo: "升级至 {target}", escDeadline: "处理时限", escLeft: "剩余 {time}", escOverdue: "已超时 {time}",
      escReasons: "原因", escSop: "依据", urgency_low: "低", urgency_normal: "普通", urgency_high: "高", urgency_critical: "紧急",
      articleClose: "关闭", article: "资料原文", revision: "版本 {rev}", loading: "加载中…",
      errorGeneric: "出错了：{msg}", noKey: "缺少坐席密钥：请在 URL 片段中提供 #key=… 或通过 postMessage 发送 assist:init。",
      customer: "客户", agent: "坐席",
      // km
      kmTitle: "知识管理", kmKey: "知识管理员密钥", kmKeySave: "连接", tabArticles: "文章", tabWrite: "撰写",
      tabUpload: "上传", tabReview: "到期与复审", tabGaps: "知识缺口",
      colId: "编号", colTitle: "标题", colType: "类型", colLang: "语言", colStatus: "状态", colRev: "版本",
      colValid: "有效期至", colReview: "复审日期", colUpdated: "更新时间", filter: "筛选", filterPlaceholder: "按标题或编号筛选",
      refresh: "刷新", open: "打开", noArticles: "暂无文章",
      fId: "文章编号", fTitle: "标题", fType: "类型", fLang: "语言", fProduct: "产品", fTags: "标签（逗号分隔）",
      fValid: "有效期至", fReview: "复审日期", fBody: "正文（Markdown）", fPublish: "立即发布",
      preview: "预览解析与分块", saveDraft: "保存草稿", savePublish: "保存并发布", saveRevision: "保存为新版本",
      editing: "正在编辑：{id}", newArticle: "新文章",
      uploadFiles: "选择文件", uploadHint: "支持 Markdown、TXT、HTML、PDF、DOCX、PPTX、XLSX、CSV、JSONL；可附带 .meta.yaml。",
      upload: "上传", uploadPublish: "上传并发布", uploaded: "已处理 {files} 个文件、{articles} 篇文章、{chunks} 个分块",
      previewTitle: "解析预览（未保存）", chunks: "{n} 个分块", colIndex: "#", colKind: "类别", colSection: "章节",
      colTokens: "词元", colText: "内容", parseError: "解析失败：{msg}",
      detail: "文章详情", live: "线上版本", latest: "最新版本", workflow: "流程",
      submit: "提交审核", approve: "批准", publish: "发布", archive: "归档", rollback: "回滚到", rollbackDo: "回滚",
      note: "备注", notePlaceholder: "可选：说明原因", events: "操作记录", revisions: "版本历史", diff: "差异",
      diffFrom: "从", diffTo: "到", showDiff: "对比", view: "查看", editArticle: "编辑",
      colAction: "操作", colActor: "操作人", colAt: "时间", colNote: "备注", colState: "状态", colBy: "创建人",
      colChunks: "分块数", noDiff: "两个版本内容相同",
      expiring: "30 天内到期", reviewDue: "已到复审日期", none: "无",
      gapsHint: "客户问到、知识库未能回答的问题（按出现次数排序）。", colQuestion: "问题", colCount: "次数",
      colLastSeen: "最近出现", draftFromGap: "据此撰写文章", gapTemplate: "## 问题\n\n{q}\n\n## 答复\n\n",
      saved: "已保存：{id}（版本 {rev}）", actionDone: "已完成：{action}", kmNoKey: "请输入知识管理员密钥。",
      action_create: "创建", action_submit: "提交审核", action_approve: "批准", action_publish: "发布",
      action_archive: "归档", action_rollback: "回滚", action_update: "更新",
      st_draft: "草稿", st_in_review: "审核中", st_approved: "已批准", st_published: "已发布", st_archived: "已归档",
      st_superseded: "已被取代", st_index_failed: "索引失败",
    },
    en: {
      appTitle: "Reply assistant", langToggle: "中文", langToggleLabel: "切换到中文",
      conversation: "Conversation", pasteSummary: "Paste a conversation to try it", pasteLabel: "Conversation (one turn per line, starting with \"customer:\" or \"agent:\")",
      pastePlaceholder: "customer: Hello, I have a question.\nagent: Hello, how can I help you today?\ncustomer: …",
      suggest: "Suggest a reply", waiting: "Waiting for a conversation…", waitingHint: "The host page sends the live conversation via postMessage, or paste one above.",
      drafting: "Writing…", searching: "Searching the knowledge base…", suggestedReply: "Suggested reply",
      stDrafted: "AI draft", stCurated: "Curated answer (approved)", stNotCovered: "Not covered", stNoDraft: "Model unavailable",
      curatedHint: "An approved answer from the knowledge base; safe to use as is.", draftedHint: "Drafted by AI from the knowledge base; check the citations before sending.",
      notCoveredHint: "The knowledge base has no reliable answer, so no reply was drafted. The question was logged as a knowledge gap; please answer it yourself.",
      noDraftHint: "The model server is unavailable, so no reply was drafted. The sources found are listed below to help you answer.",
      citations: "Citations", sources: "Sources found", noSources: "No sources found",
      related: "Related articles", relatedInsertLink: "Insert link", relatedInsertSnippet: "Insert snippet",
      relatedMatched: "Matched", kindFaq: "FAQ", kindArticle: "Article", relatedOpen: "Open related article: {title}",
      relatedInserted: "Added to the reply",
      openSource: "Open citation {n}: {title}", qa: "Quality check", qaPassed: "Passed", qaFailed: "Needs attention", qaScore: "score {score}",
      qaChecking: "Checking…", qaNone: "No issues found",
      sevCritical: "critical", sevMajor: "major", sevMinor: "minor", sevInfo: "info",
      insert: "Insert", copy: "Copy", edit: "Edit", reject: "Reject", done: "Done editing", cancel: "Cancel",
      editLabel: "Edit the reply", rejectTitle: "Why reject?", rejectLabel: "Reason for rejecting", rejectSend: "Send",
      rejectPlaceholder: "e.g. inaccurate, wrong tone…",
      inserted: "Inserted into the reply box", copied: "Copied", rejected: "Rejected, thanks for the feedback", feedbackFailed: "Feedback not saved: {msg}",
      escalate: "Escalate", escTo: "Escalate to {target}", escDeadline: "Deadline", escLeft: "{time} left", escOverdue: "overdue by {time}",
      escReasons: "Reasons", escSop: "Per", urgency_low: "low", urgency_normal: "normal", urgency_high: "high", urgency_critical: "critical",
      articleClose: "Close", article: "Source article", revision: "revision {rev}", loading: "Loading…",
      errorGeneric: "Something went wrong: {msg}", noKey: "No agent key: pass #key=… in the URL fragment or send assist:init via postMessage.",
      customer: "Customer", agent: "Agent",
      kmTitle: "Knowledge management", kmKey: "Knowledge manager key", kmKeySave: "Connect", tabArticles: "Articles", tabWrite: "Write",
      tabUpload: "Upload", tabReview: "Expiry & review", tabGaps: "Knowledge gaps",
      colId: "ID", colTitle: "Title", colType: "Type", colLang: "Language", colStatus: "Status", colRev: "Rev.",
      colValid: "Valid until", colReview: "Review by", colUpdated: "Updated", filter: "Filter", filterPlaceholder: "Filter by title or ID",
      refresh: "Refresh", open: "Open", noArticles: "No articles yet",
      fId: "Article ID", fTitle: "Title", fType: "Type", fLang: "Language", fProduct: "Product", fTags: "Tags (comma-separated)",
      fValid: "Valid until", fReview: "Review by", fBody: "Body (Markdown)", fPublish: "Publish now",
      preview: "Preview parsing and chunks", saveDraft: "Save draft", savePublish: "Save and publish", saveRevision: "Save as new revision",
      editing: "Editing: {id}", newArticle: "New article",
      uploadFiles: "Choose files", uploadHint: "Markdown, TXT, HTML, PDF, DOCX, PPTX, XLSX, CSV, JSONL; .meta.yaml sidecars welcome.",
      upload: "Upload", uploadPublish: "Upload and publish", uploaded: "Processed {files} files, {articles} articles, {chunks} chunks",
      previewTitle: "Parse preview (nothing stored)", chunks: "{n} chunks", colIndex: "#", colKind: "Kind", colSection: "Section",
      colTokens: "Tokens", colText: "Text", parseError: "Could not parse: {msg}",
      detail: "Article", live: "Live revision", latest: "Latest revision", workflow: "Workflow",
      submit: "Submit for review", approve: "Approve", publish: "Publish", archive: "Archive", rollback: "Roll back to", rollbackDo: "Roll back",
      note: "Note", notePlaceholder: "Optional: why", events: "Who did what", revisions: "Revision history", diff: "Diff",
      diffFrom: "From", diffTo: "To", showDiff: "Compare", view: "View", editArticle: "Edit",
      colAction: "Action", colActor: "By", colAt: "When", colNote: "Note", colState: "State", colBy: "Created by",
      colChunks: "Chunks", noDiff: "The revisions are identical",
      expiring: "Expiring within 30 days", reviewDue: "Past the review date", none: "None",
      gapsHint: "Questions customers asked that the knowledge base could not answer, most frequent first.", colQuestion: "Question", colCount: "Count",
      colLastSeen: "Last seen", draftFromGap: "Draft an article from this gap", gapTemplate: "## Question\n\n{q}\n\n## Answer\n\n",
      saved: "Saved: {id} (revision {rev})", actionDone: "Done: {action}", kmNoKey: "Enter a knowledge manager key.",
      action_create: "created", action_submit: "submitted", action_approve: "approved", action_publish: "published",
      action_archive: "archived", action_rollback: "rolled back", action_update: "updated",
      st_draft: "draft", st_in_review: "in review", st_approved: "approved", st_published: "published", st_archived: "archived",
      st_superseded: "superseded", st_index_failed: "index failed",
    },
  };

  function detect() {
    var langs = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language || "zh"];
    var first = String(langs[0] || "zh").toLowerCase();
    return first.indexOf("zh") === 0 ? "zh" : (first.indexOf("en") === 0 ? "en" : "zh");
  }

  function t(lang, key, vars) {
    var table = S[lang] || S.zh;
    var s = table[key];
    if (s === undefined) s = S.en[key] !== undefined ? S.en[key] : key;
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) { return vars[name] !== undefined ? String(vars[name]) : m; });
    }
    return s;
  }

  function apply(root, lang) {
    root.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(lang, el.getAttribute("data-i18n")); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach(function (el) { el.setAttribute("placeholder", t(lang, el.getAttribute("data-i18n-placeholder"))); });
    root.querySelectorAll("[data-i18n-aria]").forEach(function (el) { el.setAttribute("aria-label", t(lang, el.getAttribute("data-i18n-aria"))); });
    root.querySelectorAll("[data-i18n-title]").forEach(function (el) { el.setAttribute("title", t(lang, el.getAttribute("data-i18n-title"))); });
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  }

  window.AssistI18n = { strings: S, detect: detect, t: t, apply: apply };
})();
