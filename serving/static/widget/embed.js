/* One-line embed of the agent sidebar widget:
 *
 *   <script src="https://assist.example.com/widget/embed.js" data-key="AGENT_KEY"
 *           data-api="https://assist.example.com" data-target="#assist" data-lang="zh"></script>
 *
 * Injects an iframe (into data-target, else a fixed right-hand sidebar). The key travels in the
 * iframe's URL fragment, which browsers never send to a server, so it is never logged.
 * API for the host page:
 *   AssistWidget.setConversation(turns, channel, customer)  -> posts assist:conversation
 *   window "assist:insert" CustomEvent, detail {text, draft_id}  <- when the agent inserts a reply
 */
(function () {
  "use strict";
  var s = document.currentScript;
  var apiBase = (s.getAttribute("data-api") || new URL(s.src, location.href).origin).replace(/\/+$/, "");
  var apiOrigin = new URL(apiBase, location.href).origin;
  var key = s.getAttribute("data-key") || "";
  s.removeAttribute("data-key"); // keep the key out of the host DOM once read
  var lang = s.getAttribute("data-lang") || "";
  var frag = "key=" + encodeURIComponent(key) + "&api=" + encodeURIComponent(apiBase) +
    "&origin=" + encodeURIComponent(location.origin) + (lang ? "&lang=" + encodeURIComponent(lang) : "");
  var iframe = document.createElement("iframe");
  iframe.src = apiBase + "/widget/#" + frag;
  iframe.title = s.getAttribute("data-title") || "Reply assistant / 回复助手";
  iframe.setAttribute("allow", "clipboard-write");
  iframe.setAttribute("referrerpolicy", "no-referrer");
  iframe.className = "assist-widget-frame";
  var target = s.getAttribute("data-target") && document.querySelector(s.getAttribute("data-target"));
  iframe.style.cssText = target ? "border:0;width:100%;height:100%;display:block"
    : "position:fixed;top:0;right:0;width:380px;max-width:100vw;height:100vh;border:0;border-left:1px solid #dde3ea;z-index:2147483000;background:#f4f6f9";
  (target || document.body).appendChild(iframe);

  var ready = false, queue = [];
  function post(msg) {
    if (ready) iframe.contentWindow.postMessage(msg, apiOrigin); else queue.push(msg);
  }
  window.addEventListener("message", function (e) {
    if (e.source !== iframe.contentWindow || e.origin !== apiOrigin) return;
    var m = e.data || {};
    if (m.type === "assist:ready") {
      ready = true;
      queue.splice(0).forEach(post);
    } else if (m.type === "assist:insert") {
      window.dispatchEvent(new CustomEvent("assist:insert", { detail: { text: m.text, draft_id: m.draft_id } }));
    }
  });
  window.AssistWidget = {
    frame: iframe,
    post: post,
    setConversation: function (turns, channel, customer) {
      post({ type: "assist:conversation", turns: turns, channel: channel || null, customer: customer || {} });
    },
  };
})();
