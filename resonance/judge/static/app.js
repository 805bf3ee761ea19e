// The rater's page: consent, then one trial at a time from the server. No external resource is loaded.
"use strict";
(function () {
  const token = location.pathname.split("/").pop();
  const api = "/api/" + token + "/";
  const $ = (id) => document.getElementById(id);
  let current = null, shownAt = 0, endedAt = 0, busy = false;

  function show(id) {
    for (const s of ["consent", "trial", "done", "fail"]) $(s).hidden = s !== id;
  }
  async function call(path, body) {
    const opts = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify(body)};
    const r = await fetch(api + path, opts);
    const data = await r.json().catch(() => ({error: "the server's reply could not be read"}));
    if (!r.ok) { const e = new Error(data.error || r.statusText); e.status = r.status; throw e; }
    return data;
  }
  function progress(state) {
    $("progress").hidden = false;
    $("count").textContent = state.done + " / " + state.total;
    $("fill").style.width = (state.total ? 100 * state.done / state.total : 0) + "%";
  }
  function render(state) {
    progress(state);
    if (state.stage === "consent") { show("consent"); return; }
    if (state.stage === "done") { show("done"); return; }
    show("trial");
    const t = state.trial;
    current = t; endedAt = 0; shownAt = performance.now();
    $("prompt").textContent = t.prompt;
    $("message").textContent = "";
    $("playstate").textContent = "Play the sound to its end to answer.";
    document.body.dataset.kind = t.kind;
    document.body.dataset.uid = t.uid;
    const images = $("images");
    images.replaceChildren();
    t.images.forEach((src, k) => {
      const fig = document.createElement("figure");
      const img = document.createElement("img");
      img.src = src; img.alt = t.images.length > 1 ? (k ? "right painting" : "left painting") : "painting";
      fig.appendChild(img);
      if (t.images.length > 1) {
        const cap = document.createElement("figcaption");
        cap.textContent = k ? "Right" : "Left";
        fig.appendChild(cap);
      }
      images.appendChild(fig);
    });
    const audio = $("audio");
    audio.src = t.sound;
    audio.dataset.ended = "0";
    const answers = $("answers");
    answers.replaceChildren();
    const add = (label, value, parent) => {
      const b = document.createElement("button");
      b.textContent = label; b.disabled = true; b.className = "answer"; b.dataset.value = value;
      b.addEventListener("click", () => submit(value));
      (parent || answers).appendChild(b);
    };
    if (t.kind === "rating") {
      const scale = document.createElement("div");
      scale.className = "scale";
      const lo = document.createElement("span"); lo.className = "end"; lo.textContent = "not at all";
      scale.appendChild(lo);
      for (let v = 1; v <= 7; v++) add(String(v), v, scale);
      const hi = document.createElement("span"); hi.className = "end"; hi.textContent = "perfectly";
      scale.appendChild(hi);
      answers.appendChild(scale);
    } else if (t.kind === "choice") {
      add("Left painting", 0); add("Right painting", 1);
    } else {
      add("First", 1); add("Second", 2); add("Third", 3);
    }
    $("sam").hidden = !state.sliders;
    $("sam-on").checked = false;
    for (const s of ["valence", "arousal"]) { $(s).value = 5; $(s).disabled = true; }
  }
  function enableAnswers(on) {
    for (const b of document.querySelectorAll("button.answer")) b.disabled = !on;
  }
  async function submit(value) {
    if (busy || !current || !endedAt) return;
    busy = true; enableAnswers(false);
    const body = {uid: current.uid, response: value, rt_ms: Math.round(performance.now() - endedAt)};
    if (!$("sam").hidden && $("sam-on").checked) {
      body.valence = Number($("valence").value); body.arousal = Number($("arousal").value);
    }
    try {
      render(await call("answer", body));
    } catch (e) {
      $("message").textContent = "Your answer was not saved: " + e.message;
      if (e.status === 409) { try { render(await call("state")); } catch (_) { /* keep the message */ } }
      else enableAnswers(true);
    } finally { busy = false; }
  }
  $("agree").addEventListener("change", () => { $("start").disabled = !$("agree").checked; });
  $("start").addEventListener("click", async () => {
    try { render(await call("consent", {alias: $("alias").value.trim() || null})); }
    catch (e) { $("fail").hidden = false; $("failtext").textContent = e.message; }
  });
  $("sam-on").addEventListener("change", () => {
    for (const s of ["valence", "arousal"]) $(s).disabled = !$("sam-on").checked;
  });
  $("play").addEventListener("click", () => {
    const audio = $("audio");
    audio.currentTime = 0;
    audio.play().then(() => { $("playstate").textContent = "Playing..."; })
      .catch((e) => { $("playstate").textContent = "The sound could not play: " + e.message; });
  });
  $("audio").addEventListener("ended", async () => {
    const audio = $("audio");
    if (!current) return;
    if (endedAt) { $("playstate").textContent = "Played. Replay as often as you like."; return; }
    try {
      await call("ended", {uid: current.uid});
      endedAt = performance.now();
      audio.dataset.ended = "1";
      $("playstate").textContent = "Played. Replay as often as you like.";
      enableAnswers(true);
    } catch (e) {
      $("playstate").textContent = "Please play the sound to its end: " + e.message;
    }
  });
  call("state").then(render).catch((e) => {
    show("fail"); $("failtext").textContent = "This link does not work: " + e.message;
  });
})();
