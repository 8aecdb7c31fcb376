/**
 * Executes notebooks in the weightscope kernel with nbconvert, exports them to HTML and checks them: the one
 * implementation shared by `npm run tour` and the end-to-end tests.
 */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..");
/** Debian's interpreter: a `python3` earlier on PATH may lack the Jupyter modules. */
const PYTHON = "/usr/bin/python3";
const PLOTLY_MIME = "application/vnd.plotly.v1+json";
const JUPYTER_MODULES = ["jupyter_client", "nbconvert", "nbclient", "ipykernel"];
const APT_PACKAGES = ["jupyter-notebook", "jupyter-nbconvert", "jupyter-client", "python3-nbclient", "python3-ipykernel"];

/** The Jupyter modules Debian's python lacks (empty when all are there). */
function missingJupyter() {
  if (!fs.existsSync(PYTHON)) return JUPYTER_MODULES.slice();
  return JUPYTER_MODULES.filter((m) => spawnSync(PYTHON, ["-c", `import ${m}`]).status !== 0);
}

function notebooks(dir = path.join(ROOT, "notebooks")) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((f) => path.join(dir, f));
}

function run(args, options) {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (status) => resolve({ status, output }));
  });
}

/**
 * Executes a notebook in the weightscope kernel; writes <outDir>/<name>.ipynb and <outDir>/<name>.html.
 * `jupyterPath` points at a kernelspec prefix (share/jupyter) when the kernel is not installed for the user.
 */
async function executeNotebook(notebook, outDir, { jupyterPath, timeout = 900 } = {}) {
  fs.mkdirSync(outDir, { recursive: true });
  const env = { ...process.env };
  if (jupyterPath) env.JUPYTER_PATH = [jupyterPath, env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  const name = path.basename(notebook, ".ipynb");
  const started = Date.now();
  const exec = await run(
    ["-m", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=weightscope", `--ExecutePreprocessor.timeout=${timeout}`, "--output-dir", outDir, notebook],
    { cwd: path.dirname(notebook), env },
  );
  const executed = path.join(outDir, `${name}.ipynb`);
  const seconds = (Date.now() - started) / 1000;
  if (exec.status !== 0) return { name, ok: false, seconds, executed, html: null, log: exec.output };
  const html = await run(["-m", "nbconvert", "--to", "html", "--output-dir", outDir, executed], { env });
  return { name, ok: html.status === 0, seconds, executed, html: path.join(outDir, `${name}.html`), log: exec.output + html.output };
}

/** Error outputs and malformed figure outputs of an executed notebook. */
function inspectNotebook(executed) {
  const nb = JSON.parse(fs.readFileSync(executed, "utf8"));
  const errors = [];
  const badFigures = [];
  let figures = 0;
  nb.cells.forEach((cell, index) => {
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "error") errors.push(`cell ${index}: ${out.ename}: ${out.evalue}`);
      if (out.output_type === "stream" && out.name === "stderr" && /\bError\b/.test(String(out.text))) errors.push(`cell ${index} stderr: ${String(out.text).slice(0, 300)}`);
      const data = out.data ?? {};
      if (PLOTLY_MIME in data) {
        figures++;
        const problems = [];
        if (typeof data[PLOTLY_MIME] !== "object" || data[PLOTLY_MIME] === null || !Array.isArray(data[PLOTLY_MIME].data)) problems.push("plotly JSON is not an object with data");
        if (!("text/html" in data)) problems.push("no text/html");
        if (!("text/plain" in data)) problems.push("no text/plain");
        if (problems.length) badFigures.push(`cell ${index}: ${problems.join(", ")}`);
      }
    }
  });
  return { errors, figures, badFigures };
}

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p)) ?? null;

/** Opens an HTML file in headless Chromium, lets its scripts run, and returns the resulting DOM. */
function renderedDom(htmlFile, budgetMs = 30000) {
  if (!CHROMIUM) throw new Error("Chromium is not installed: apt-get install -y chromium");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "weightscope-chromium-"));
  try {
    const result = spawnSync(
      CHROMIUM,
      ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", `--user-data-dir=${profile}`, `--virtual-time-budget=${budgetMs}`, "--dump-dom", `file://${path.resolve(htmlFile)}`],
      { encoding: "utf8", maxBuffer: 512 * 1024 * 1024, timeout: 180000 },
    );
    if (result.status !== 0) throw new Error(`chromium failed on ${htmlFile}: ${result.stderr.slice(0, 500)}`);
    return result.stdout;
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** For each weightscope figure in a rendered page: did plotly.js draw an SVG plot into it, or did it show the missing-library message? */
function renderedFigures(dom) {
  return dom
    .split(/<div id="ws-[0-9a-f]+"/)
    .slice(1)
    // The message counts when it is the div's text: the figure's script, right after the div, always contains it.
    .map((part) => ({ svg: part.includes('class="main-svg"'), missingLibrary: /^[^>]*>weightscope: plotly\.js is not loaded/.test(part) }));
}

module.exports = { ROOT, PYTHON, APT_PACKAGES, missingJupyter, notebooks, executeNotebook, inspectNotebook, renderedDom, renderedFigures, CHROMIUM };
