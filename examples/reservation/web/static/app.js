// Progressive enhancement for two pages; everything works without it.
// The waiting room asks the server for its status every few seconds and
// moves on by itself once admitted; the slot list keeps its availability
// current. The server decides everything: this script only displays.
"use strict";
(function () {
  function poll(url, every, onData) {
    var timer = null;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d && onData(d) === false) return; timer = setTimeout(tick, every); })
        .catch(function () { timer = setTimeout(tick, every * 2); });
    }
    timer = setTimeout(tick, every);
  }
  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  var room = document.getElementById("room");
  if (room) {
    poll(room.dataset.status, 2000, function (d) {
      setText("room-state", d.headline);
      setText("room-ahead", d.people_ahead == null ? "not drawn yet" : String(d.people_ahead));
      setText("room-eta", d.eta_text);
      if (d.state === "admitted") {
        document.getElementById("room-next").hidden = false;
        window.location.assign(room.dataset.next);
        return false;
      }
    });
  }

  var slots = document.getElementById("slots");
  if (slots) {
    poll(slots.dataset.slots, 5000, function (d) {
      (d.slots || []).forEach(function (s) {
        var left = document.querySelector('.left[data-slot="' + s.id + '"]');
        var input = document.getElementById("slot-" + s.id);
        if (left) left.textContent = s.left_text;
        if (input) input.disabled = s.left <= 0 && !input.checked;
      });
    });
  }
})();
