// The fleet page's live refresh: every 15 s, fetch the table's rows and the summary as a
// fragment and put them in place. No framework and no other file; the page works without
// it (reload to refresh). A fragment request does not keep the session alive: once the
// session ends the answer is the sign-in page, not a fragment, and the refresh stops.
"use strict";
(function () {
  var table = document.querySelector("table[data-refresh]");
  if (!table) { return; }
  var url = table.getAttribute("data-refresh");
  var timer = null;

  function replace(doc, id) {
    var fresh = doc.getElementById(id);
    var old = document.getElementById(id);
    if (fresh && old) { old.replaceWith(fresh); }
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok || response.headers.get("X-Console-Fragment") !== "fleet") {
          window.clearInterval(timer);
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        replace(doc, "fleet-rows");
        replace(doc, "fleet-summary");
      })
      .catch(function () { /* the network is down: try again at the next tick */ });
  }

  timer = window.setInterval(refresh, 15000);
}());
