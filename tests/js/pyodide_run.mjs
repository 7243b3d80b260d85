// Run a Python script inside Pyodide (npm `pyodide`, pinned in package.json) under Node, then
// render every DOT text it hands back with the vendored viz.js. Used by tests/test_pyodide.py.
//
//   node tests/js/pyodide_run.mjs config.json
//
// config.json: {"script": "/abs/run.py", "mounts": {"/mnt/src/chainrule": "/abs/chainrule", ...},
//               "sys_path": ["/mnt/src"], "vizjs": "/abs/viz-global.js"}
// The script leaves a JSON-able dict in RESULT; RESULT["dots"] (a list of DOT texts) is rendered.
// Prints one JSON object: {"python": RESULT, "rendered": [...], "network": [...]}.
// No network: no package is loaded, and any fetch of a non-file URL fails and is reported.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runInThisContext } from "node:vm";

const here = dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(readFileSync(process.argv[2], "utf8"));

const network = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (resource, options) => {
  const url = String(resource instanceof Request ? resource.url : resource);
  if (!url.startsWith("file:")) {
    network.push(url);
    throw new Error(`pyodide_run: network access refused: ${url}`);
  }
  return realFetch(resource, options);
};

const { loadPyodide } = await import(join(here, "node_modules", "pyodide", "pyodide.mjs"));
const log = [];
const pyodide = await loadPyodide({
  indexURL: join(here, "node_modules", "pyodide") + "/",
  stdout: (line) => log.push(line),
  stderr: (line) => log.push(line),
});

for (const [target, source] of Object.entries(config.mounts)) {
  pyodide.FS.mkdirTree(target);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: source }, target);
}
pyodide.globals.set("_sys_path", pyodide.toPy(config.sys_path));
pyodide.runPython("import sys; sys.path[:0] = _sys_path; del _sys_path");

let result;
try {
  await pyodide.runPythonAsync(readFileSync(config.script, "utf8"));
  result = JSON.parse(pyodide.runPython("import json; json.dumps(RESULT)"));
} catch (error) {
  console.log(JSON.stringify({ error: String(error), log, network }));
  process.exit(1);
}

// Run the vendored file as a page's <script> would: its UMD wrapper sets globalThis.Viz.
// Outside a page it wants location (else it calls CommonJS require, absent in a module).
globalThis.location = { href: pathToFileURL(config.vizjs).href };
runInThisContext(readFileSync(config.vizjs, "utf8"), { filename: config.vizjs });
const viz = await globalThis.Viz.instance();
const rendered = (result.dots || []).map((dot) => {
  const out = viz.render(dot, { format: "svg" });
  return {
    status: out.status,
    errors: out.errors,
    svg: out.status === "success" ? out.output : "",
  };
});

console.log(JSON.stringify({
  python: result, rendered, network, log, graphviz: viz.graphvizVersion,
  platform: pyodide.runPython("import sys; sys.platform"),
}));
