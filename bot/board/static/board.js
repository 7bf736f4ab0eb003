// Live pages: on every "change" event from /board/events, refetch the page's fragment (#live) in place.
(function () {
  if (!document.body.dataset.live || !window.EventSource) return;
  var box = document.getElementById("live");
  var state = document.getElementById("live-state");
  if (!box) return;
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(box.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (r.status === 401 || r.redirected) { location.reload(); return null; } return r.text(); })
      .then(function (html) { if (html !== null) { box.innerHTML = html; box.dataset.updated = String(Date.now()); } })
      .finally(function () { busy = false; if (again) { again = false; refresh(); } });
  }
  var es = new EventSource("/board/events");
  es.addEventListener("change", refresh);
  es.onopen = function () { if (state) state.textContent = "实时"; };
  es.onerror = function () { if (state) state.textContent = "重新连接中…"; };
})();
