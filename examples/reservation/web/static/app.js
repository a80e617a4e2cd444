// Progressive enhancement for two pages; everything works without it.
// The waiting room asks the server for its status when the server says to
// (poll_after_seconds, capped by the page's data-max-poll) and moves on by
// itself once admitted; the slot list keeps its availability current. The
// server decides everything: this script only displays.
"use strict";
(function () {
  // poll calls url after `first` ms, then after whatever onData returns
  // (ms), until it returns false. Failures back off.
  function poll(url, first, onData) {
    var failures = 0;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) {
          var next = d ? onData(d) : first * Math.min(8, Math.pow(2, ++failures));
          if (d) failures = 0;
          if (next !== false) setTimeout(tick, next);
        })
        .catch(function () { setTimeout(tick, first * Math.min(8, Math.pow(2, ++failures))); });
    }
    setTimeout(tick, first);
  }
  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  var room = document.getElementById("room");
  if (room) {
    var maxPoll = Number(room.dataset.maxPoll) || 30;
    var wait = function (d) {
      var s = Math.min(Math.max(d.poll_after_seconds || 5, 1), maxPoll);
      return s * 1000;
    };
    poll(room.dataset.status, Math.min(2, maxPoll) * 1000, function (d) {
      setText("room-state", d.headline);
      setText("room-ahead", d.people_ahead == null ? "not drawn yet" : String(d.people_ahead));
      setText("room-eta", d.eta_text);
      var notice = document.getElementById("room-notice");
      if (notice) {
        setText("room-notice", d.operator_message || "");
        notice.hidden = !d.operator_message;
      }
      if (d.state === "admitted") {
        document.getElementById("room-next").hidden = false;
        window.location.assign(room.dataset.next);
        return false;
      }
      // Sold out: keep asking, slowly, in case places come back.
      if (d.state !== "waiting" && d.state !== "sold_out") return false;
      return wait(d);
    });
  }

  var slots = document.getElementById("slots");
  if (slots) {
    var every = (Number(slots.dataset.every) || 5) * 1000;
    poll(slots.dataset.slots, every, function (d) {
      (d.slots || []).forEach(function (s) {
        var left = document.querySelector('.left[data-slot="' + s.id + '"]');
        var input = document.getElementById("slot-" + s.id);
        if (left) left.textContent = s.left_text;
        if (input) input.disabled = s.left <= 0 && !input.checked;
      });
      return every;
    });
  }
})();
