// The step-through page: frames are DOT text (JSON in .cr-data: each frame lists its lines
// as indices into one table, since frames share most lines), drawn by viz.js on demand.
// Everything is looked up inside the container, and keys are heard on the container (it is
// focusable), so the page also works as a notebook output, twice on one page if need be.
// The container's data-* attributes report what is shown, for tests and for the curious.
(function (uid) {
  var root = document.getElementById(uid);
  var data = JSON.parse(root.querySelector(".cr-data").textContent);
  var frames = data.frames;
  var last = frames.length - 1;
  var $ = function (selector) { return root.querySelector(selector); };
  var view = $(".cr-view"), stage = $(".cr-stage"), caption = $(".cr-caption");
  var slider = $(".cr-slider"), counter = $(".cr-counter"), status = $(".cr-status");
  var playButton = $(".cr-play"), speed = $(".cr-speed"), follow = $(".cr-follow");
  var standalone = root.parentNode === document.body;
  var MIN_TEXT_PX = 12;  // the smallest text the automatic zoom allows (11 px is the floor)
  var PX_PER_PT = 4 / 3;  // Graphviz measures in points; CSS in px
  var drawn = {};  // frame index -> svg element
  var current = -1, timer = null, viz = null;
  var scale = 0, tx = 0, ty = 0, natural = null, minFont = null;  // scale 0: not chosen yet

  function dotText(k) {
    return frames[k].lines.map(function (i) { return data.lines[i]; }).join("\n");
  }

  function setStatus(text) { status.textContent = text; status.style.display = text ? "" : "none"; }

  function svgFor(k) {
    if (!drawn[k]) {
      var svg = viz.renderSVGElement(dotText(k));
      var box = svg.viewBox.baseVal;
      svg.setAttribute("width", box.width * PX_PER_PT);
      svg.setAttribute("height", box.height * PX_PER_PT);
      drawn[k] = svg;
      root.setAttribute("data-rendered", Object.keys(drawn).length);
    }
    return drawn[k];
  }

  function measure(svg) {
    natural = { width: svg.viewBox.baseVal.width * PX_PER_PT,
                height: svg.viewBox.baseVal.height * PX_PER_PT };
    var texts = svg.querySelectorAll("text"), smallest = Infinity;
    for (var i = 0; i < texts.length; i++) {
      var size = parseFloat(texts[i].getAttribute("font-size"));
      if (size > 0 && size < smallest) { smallest = size; }
    }
    minFont = (smallest === Infinity ? 14 : smallest) * PX_PER_PT;  // px at scale 1
  }

  function apply(glide) {
    stage.classList.toggle("cr-glide", !!glide);
    stage.style.transform = "translate(" + tx + "px," + ty + "px) scale(" + scale + ")";
    root.setAttribute("data-scale", scale.toFixed(4));
    root.setAttribute("data-tx", tx.toFixed(1));
    root.setAttribute("data-ty", ty.toFixed(1));
    root.setAttribute("data-text-px", (minFont * scale).toFixed(2));
  }

  function fitScale() {
    return Math.min(view.clientWidth / natural.width, view.clientHeight / natural.height, 1.5);
  }

  function showWhole() {
    scale = fitScale();
    tx = (view.clientWidth - natural.width * scale) / 2;
    ty = (view.clientHeight - natural.height * scale) / 2;
    root.setAttribute("data-mode", "whole");
    apply(true);
  }

  function focusBox(svg) {  // the current node (record and op), in px at scale 1
    var id = frames[current].node_id, box = null;
    var groups = svg.querySelectorAll("g.node");
    for (var i = 0; i < groups.length; i++) {
      var title = groups[i].querySelector("title");
      var name = title ? title.textContent : "";
      if (name === id || name === "op" + id.slice(1)) {
        var b = groups[i].getBBox();
        box = box ? { x1: Math.min(box.x1, b.x), y1: Math.min(box.y1, b.y),
                      x2: Math.max(box.x2, b.x + b.width), y2: Math.max(box.y2, b.y + b.height) }
                  : { x1: b.x, y1: b.y, x2: b.x + b.width, y2: b.y + b.height };
      }
    }
    if (!box) { return null; }
    // getBBox is in the graph's own units, inside Graphviz's translate(...) transform
    var graph = svg.querySelector("g.graph"), m = graph.transform.baseVal.consolidate();
    var dx = m ? m.matrix.e : 0, dy = m ? m.matrix.f : 0;
    var k = natural.width / svg.viewBox.baseVal.width;
    return { x: (box.x1 + box.x2) / 2 * k + dx * k, y: (box.y1 + box.y2) / 2 * k + dy * k };
  }

  function followCurrent(glide) {
    var legible = MIN_TEXT_PX / minFont;
    if (fitScale() >= legible) { showWhole(); return; }  // the whole graph reads well
    if (scale < legible) { scale = legible; }
    var at = focusBox(drawn[current]);
    if (at) {
      tx = view.clientWidth / 2 - at.x * scale;
      ty = view.clientHeight / 2 - at.y * scale;
    }
    root.setAttribute("data-mode", "follow");
    apply(glide);
  }

  function show(k, glide) {
    k = Math.max(0, Math.min(last, k));
    if (!viz) { current = k; return; }
    var svg;
    try {
      svg = svgFor(k);
    } catch (error) {
      setStatus("viz.js could not draw step " + k + ": " + error.message);
      root.setAttribute("data-error", error.message);
      return;
    }
    var first = natural === null;
    current = k;
    stage.replaceChildren(svg);
    if (first) { measure(svg); }
    caption.textContent = frames[k].caption;
    slider.value = k;
    counter.textContent = "step " + k + " of " + last;
    root.setAttribute("data-step", k);
    if (follow.checked || first) { followCurrent(glide && !first); } else { apply(false); }
    // A srcdoc iframe (a notebook's embedded copy) has no URL to rewrite: skip the link there.
    if (standalone && location.protocol !== "about:") {
      try { history.replaceState(null, "", "#step=" + k); } catch (e) { /* no history */ }
    }
    prefetch(k + 1, k + 4);
  }

  function prefetch(from, to) {  // draw the next frames while this one is read (~0.2 s each)
    for (var j = from; j <= Math.min(to, last); j++) {
      if (!drawn[j]) {
        setTimeout(function () {
          try { svgFor(j); } catch (e) { /* reported when that step is shown */ }
          prefetch(j + 1, to);
        }, 30);
        return;
      }
    }
  }

  function stepFromHash() {
    var match = /(?:^#|&)step=(\d+)/.exec(standalone ? location.hash : "");
    return match ? parseInt(match[1], 10) : 0;
  }

  function pause() {
    if (timer) { clearInterval(timer); timer = null; }
    playButton.innerHTML = "&#9654; play";
  }

  function play() {
    if (current >= last) { show(0, true); }
    var every = data.seconds_per_step * 1000 / parseFloat(speed.value);
    timer = setInterval(function () {
      if (current >= last) { pause(); } else { show(current + 1, true); }
    }, every);
    playButton.innerHTML = "&#10074;&#10074; pause";
  }

  function zoom(factor, cx, cy) {
    if (cx === undefined) { cx = view.clientWidth / 2; cy = view.clientHeight / 2; }
    var next = Math.max(0.05, Math.min(6, scale * factor));
    tx = cx - (cx - tx) * next / scale;
    ty = cy - (cy - ty) * next / scale;
    scale = next;
    root.setAttribute("data-mode", "manual");
    apply(false);
  }

  var actions = {
    first: function () { show(0, true); },
    prev: function () { show(current - 1, true); },
    next: function () { show(current + 1, true); },
    last: function () { show(last, true); },
    play: function () { if (timer) { pause(); } else { play(); } },
    zoomin: function () { zoom(1.25); },
    zoomout: function () { zoom(0.8); },
    fit: function () { follow.checked = false; showWhole(); },
  };
  root.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-do]");
    if (button && root.contains(button)) { actions[button.getAttribute("data-do")](); }
  });
  slider.addEventListener("input", function () { pause(); show(parseInt(slider.value, 10), false); });
  speed.addEventListener("change", function () { if (timer) { pause(); play(); } });
  follow.addEventListener("change", function () { if (follow.checked) { followCurrent(true); } });

  var keys = {
    ArrowLeft: "prev", ArrowRight: "next", Home: "first", End: "last", " ": "play",
    "+": "zoomin", "=": "zoomin", "-": "zoomout", "0": "fit",
  };
  root.addEventListener("keydown", function (event) {
    if (event.target.tagName === "SELECT" || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var name = keys[event.key];
    if (event.key === "f") {
      follow.checked = !follow.checked;
      if (follow.checked) { followCurrent(true); }
    } else if (name) {
      if (name === "prev" || name === "next") { pause(); }
      actions[name]();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();  // a notebook's own shortcuts stay out of it
  });

  var drag = null;
  view.addEventListener("pointerdown", function (event) {
    drag = { x: event.clientX - tx, y: event.clientY - ty };
    view.setPointerCapture(event.pointerId);
    view.classList.add("cr-dragging");
    root.focus({ preventScroll: true });
  });
  view.addEventListener("pointermove", function (event) {
    if (!drag) { return; }
    tx = event.clientX - drag.x;
    ty = event.clientY - drag.y;
    follow.checked = false;
    root.setAttribute("data-mode", "manual");
    apply(false);
  });
  view.addEventListener("pointerup", function () { drag = null; view.classList.remove("cr-dragging"); });
  view.addEventListener("wheel", function (event) {
    if (!(event.ctrlKey || event.metaKey || standalone)) { return; }  // in a notebook: scroll
    event.preventDefault();
    var r = view.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX - r.left, event.clientY - r.top);
  }, { passive: false });
  if (standalone) {
    root.classList.add("cr-standalone");
    document.body.style.margin = "0";
    window.addEventListener("hashchange", function () { show(stepFromHash(), true); });
    window.addEventListener("resize", function () { if (natural) { show(current, false); } });
    root.focus({ preventScroll: true });
  }

  current = stepFromHash();
  if (!window.Viz) {
    setStatus("The Graphviz script (viz.js) did not load, so the steps cannot be drawn.");
    return;
  }
  window.__chainruleViz = window.__chainruleViz || window.Viz.instance();
  window.__chainruleViz.then(function (instance) {
    viz = instance;
    setStatus("");
    show(current, false);
  }).catch(function (error) {
    setStatus("viz.js failed to start: " + error.message);
    root.setAttribute("data-error", String(error.message));
  });
})
