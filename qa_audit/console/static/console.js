/* The console's few interactions: seek the player to evidence, send decisions, appeals,
   answers and samples to the JSON API with the page's CSRF token, draw charts. No build. */
(function () {
  "use strict";
  var csrfMeta = document.querySelector("meta[name=csrf]");
  var csrf = csrfMeta ? csrfMeta.content : "";

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRF-Token": csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.error || ("HTTP " + response.status)); }
        return data;
      });
    });
  }

  function fail(form, error) {
    var box = form.querySelector(".error");
    if (!box) { box = document.createElement("div"); box.className = "error"; form.appendChild(box); }
    box.textContent = "未能保存：" + error.message;
  }

  // --- the player ---------------------------------------------------------------------
  function mark(at) {
    var hit = null;
    document.querySelectorAll("ol.lines li").forEach(function (li) {
      var on = Math.abs(parseFloat(li.dataset.start) - at) < 0.01;
      li.classList.toggle("now", on);
      if (on) { hit = li; }
    });
    if (hit) { hit.scrollIntoView({block: "nearest"}); }
  }

  function seek(at) {
    mark(at);
    var audio = document.getElementById("player");
    if (!audio) { return; }
    function go() {
      audio.currentTime = at;
      var playing = audio.play();
      if (playing && playing.catch) { playing.catch(function () {}); }
    }
    if (audio.readyState >= 1) { go(); }
    else { audio.addEventListener("loadedmetadata", go, {once: true}); audio.load(); }
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("[data-seek]");
    if (trigger) { seek(parseFloat(trigger.dataset.seek)); }
  });

  var player = document.getElementById("player");
  if (player) {
    player.addEventListener("timeupdate", function () {
      var current = null;
      document.querySelectorAll("ol.lines li").forEach(function (li) {
        if (parseFloat(li.dataset.start) <= player.currentTime) { current = li; }
      });
      document.querySelectorAll("ol.lines li.now").forEach(function (li) {
        if (li !== current) { li.classList.remove("now"); }
      });
      if (current) { current.classList.add("now"); }
    });
    var t = new URLSearchParams(location.search).get("t");
    if (t !== null && !isNaN(parseFloat(t))) {
      var at = parseFloat(t);
      mark(at);
      player.addEventListener("loadedmetadata", function () { player.currentTime = at; }, {once: true});
    }
  }

  // --- forms that change something ------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (form.classList.contains("decide-form")) {
      event.preventDefault();
      post(form.dataset.url, {status: button.value, note: form.note.value})
        .then(function () { location.reload(); }, function (e) { fail(form, e); });
    } else if (form.classList.contains("appeal-form")) {
      event.preventDefault();
      post(form.dataset.url, {reason: form.reason.value})
        .then(function () { location.reload(); }, function (e) { fail(form, e); });
    } else if (form.classList.contains("resolve-form")) {
      event.preventDefault();
      post(form.dataset.url, {outcome: button.value, note: form.note.value})
        .then(function () { location.reload(); }, function (e) { fail(form, e); });
    } else if (form.id === "sample-form") {
      event.preventDefault();
      post("/api/samples", {from: form.from.value, to: form.to.value,
                            per_agent: parseInt(form.per_agent.value, 10),
                            seed: parseInt(form.seed.value, 10)})
        .then(function (data) { showSample(data.calls); }, function (e) { fail(form, e); });
    }
  });

  function showSample(calls) {
    var box = document.getElementById("sample-result");
    var rows = calls.map(function (c) {
      var tr = document.createElement("tr");
      [c.agent_id, (c.started_at || "").replace("T", " ").slice(0, 16), c.call_id,
       c.score + " / " + c.max_score].forEach(function (text, i) {
        var td = document.createElement("td");
        if (i === 2) {
          var a = document.createElement("a"); a.href = "/calls/" + encodeURIComponent(text);
          a.textContent = text; td.appendChild(a);
        } else { td.textContent = text; }
        tr.appendChild(td);
      });
      return tr;
    });
    var table = document.createElement("table");
    table.className = "list sample";
    table.innerHTML = "<thead><tr><th>工号</th><th>通话时间</th><th>通话</th><th>得分</th></tr></thead>";
    var body = document.createElement("tbody");
    rows.forEach(function (tr) { body.appendChild(tr); });
    table.appendChild(body);
    var title = document.createElement("h2");
    title.textContent = "抽到 " + calls.length + " 通";
    box.replaceChildren(title, table);
  }

  // --- charts (plotly.min.js from the plotly package) ------------------------------------
  window.QA = {
    charts: function () {
      if (!window.Plotly) { return; }
      document.querySelectorAll(".chart[data-figure]").forEach(function (div) {
        var figure = JSON.parse(div.dataset.figure);
        window.Plotly.newPlot(div, figure.data, figure.layout,
                              {displayModeBar: false, responsive: true});
      });
    }
  };
})();
