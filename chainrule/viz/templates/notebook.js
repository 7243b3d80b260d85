// Draw one notebook output's DOT with viz.js. The script comes once per page: the first
// output carries its text in a script element of type text/plain, run only if no output
// started it yet (window.__chainruleViz, a promise of the viz instance). An output that finds
// neither waits a few seconds: a notebook may render the carrying output later or out of order.
(function (id) {
  var box = document.getElementById(id);
  if (!box || box.getAttribute("data-drawn")) { return; }
  var message = box.querySelector(".cr-msg p");
  var tries = 0;

  function start() {  // the viz instance, starting viz.js from any output that carries it
    if (window.__chainruleViz) { return window.__chainruleViz; }
    var source = document.querySelector("script[data-chainrule-vizjs]");
    if (!source) { return null; }
    var script = document.createElement("script");
    script.textContent = source.textContent;
    document.head.appendChild(script);
    return window.Viz ? (window.__chainruleViz = window.Viz.instance()) : null;
  }

  function draw(instance) {
    var svg = instance.renderSVGElement(box.querySelector("pre.cr-dot").textContent);
    var frame = document.createElement("div");
    frame.className = "cr-box";
    frame.appendChild(svg);
    if (box.getAttribute("data-fit") === "1") {
      var natural = svg.getAttribute("width");  // e.g. "812pt": never grow past it
      svg.style.maxWidth = natural;
      var bar = document.createElement("div");
      bar.className = "cr-bar";
      var toggle = document.createElement("button");
      toggle.type = "button";
      toggle.textContent = "full size";
      toggle.onclick = function () {
        var fitted = box.getAttribute("data-fit") === "1";
        box.setAttribute("data-fit", fitted ? "0" : "1");
        svg.style.maxWidth = fitted ? "none" : natural;
        toggle.textContent = fitted ? "fit to width" : "full size";
      };
      bar.appendChild(toggle);
      box.insertBefore(bar, box.firstChild);
    }
    box.insertBefore(frame, box.querySelector(".cr-msg"));
    box.querySelector(".cr-msg").style.display = "none";
    box.setAttribute("data-drawn", "1");
  }

  function attempt() {
    var viz = start();
    if (viz) {
      viz.then(draw).catch(function (error) {
        message.textContent = "viz.js could not draw this graph: " + error.message;
      });
    } else if (++tries < 20) {  // the output that carries viz.js may render later
      setTimeout(attempt, 250);
    } else {
      message.textContent = "The Graphviz script (viz.js) came with an earlier output that " +
        "is not on this page any more. Run chainrule.viz.browser.reset() and display the " +
        "drawing again (or restart the kernel).";
    }
  }
  attempt();
})
