// gatehouse pages: keeps a waiting room or maintenance page current.
// The page works without it (a <noscript> meta refresh); with it, the page
// fetches itself when the server said to (data-poll, or Retry-After), with
// X-Gatehouse-Poll: 1 so that a refusal comes back as 200 with its status
// in X-Gatehouse-Status (a 503 is expected here, not an error), and
// swaps in the new live region, so screen readers hear the change
// (aria-live). Through maintenance and outages it keeps going and says the
// place is kept. The server decides everything; this only displays.
"use strict";
(function () {
  var root = document.documentElement;
  var live = document.getElementById("gh-live");
  var strings = document.getElementById("gh-strings");
  var first = Number(root.getAttribute("data-poll")) || 0;
  if (!live || !strings || first <= 0) return;
  var maxPoll = Number(strings.getAttribute("data-max-poll")) || 30;
  var failures = 0;

  function say(name) { return strings.getAttribute("data-" + name) || ""; }
  function para(text, cls) {
    var p = document.createElement("p");
    p.textContent = text;
    if (cls) p.className = cls;
    return p;
  }
  function schedule(seconds) {
    var s = Math.max(1, Math.min(seconds, maxPoll));
    setTimeout(tick, s * 1000);
  }
  function offline() {
    failures++;
    var s = Math.min(maxPoll, 5 * Math.pow(2, Math.min(failures - 1, 3)));
    var alert = document.getElementById("gh-alert");
    if (alert) {
      alert.replaceChildren(para(say("offline-heading"), "gh-alert-heading"), para(say("offline-body")),
        para(say("kept"), "gh-kept"), para(say("retry").replace("{n}", String(s))));
      alert.hidden = false;
    }
    live.classList.add("gh-stale");
    root.setAttribute("data-state", "offline");
    schedule(s);
  }
  function tick() {
    fetch(window.location.href, { headers: { Accept: "text/html", "X-Gatehouse-Poll": "1" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.redirected && r.url && r.url.split("#")[0] !== window.location.href.split("#")[0]) {
          // The host sends an admitted person on (a redirect): follow.
          window.location.assign(r.url);
          return null;
        }
        var retry = Number(r.headers.get("Retry-After")) || 0;
        return r.text().then(function (body) { return { retry: retry, body: body }; });
      })
      .then(function (x) {
        if (!x) return;
        var doc = new DOMParser().parseFromString(x.body, "text/html");
        var body = doc.getElementById("gh-body");
        var mine = document.getElementById("gh-body");
        if (!body || !mine) { offline(); return; }
        failures = 0;
        var alert = document.getElementById("gh-alert");
        if (alert) { alert.hidden = true; alert.replaceChildren(); }
        live.classList.remove("gh-stale");
        var state = doc.documentElement.getAttribute("data-state") || "";
        var big = body.querySelector(".gh-big"), myBig = mine.querySelector(".gh-big");
        var updated = body.querySelector(".gh-updated"), myUpdated = mine.querySelector(".gh-updated");
        if (state === root.getAttribute("data-state") && big && myBig && big.textContent === myBig.textContent &&
            body.textContent.length === mine.textContent.length && updated && myUpdated) {
          // Nothing but the time changed: say no more than that, so that
          // a screen reader is not read the whole region again.
          myUpdated.textContent = updated.textContent;
        } else {
          mine.replaceWith(document.importNode(body, true));
        }
        document.title = doc.title;
        root.setAttribute("data-state", state);
        var advice = document.querySelector(".gh-advice");
        if (advice) advice.hidden = !/^(waiting|maintenance|outage|offline)$/.test(state);
        var next = Number(doc.documentElement.getAttribute("data-poll")) || 0;
        if (x.retry > next) next = x.retry;
        if (next > 0) {
          schedule(next);
          return;
        }
        var go = live.querySelector(".gh-button");
        if (go) go.focus();
      })
      .catch(offline);
  }
  schedule(first);
})();
