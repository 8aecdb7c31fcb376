#!/usr/bin/env node
/**
 * The weightscope kernel: tslab 1.0.22 with ipykernel's execution semantics, patched onto tslab's own classes
 * (its compiler, executor and socket server are used as they are). What changes:
 * - kernel_info_reply gets the required "status" field.
 * - Errors as ipykernel reports them: an IOPub `error` message and an execute_reply with status "error",
 *   `ename` (SyntaxError / TypeError for TypeScript diagnostics, the thrown error's name otherwise,
 *   KeyboardInterrupt for an interrupt), `evalue` (line:column - message for diagnostics) and `traceback`.
 * - stop_on_error: when a request with stop_on_error true (the default) fails, the execute requests that were
 *   already queued at that moment are answered `aborted`; requests sent after the error reply run. tslab
 *   instead rejected everything arriving in the next 200 ms, so nbclient's next cells came back empty.
 * - `execute_input` is published, `silent` and `store_history` are honoured.
 * - The rich last value: when a cell's last expression has a method under Symbol.for("weightscope.mimeBundle")
 *   (returning `{ data, metadata? }`, data with "text/plain"), it is sent as `execute_result` with that bundle
 *   instead of being printed. Other values print on stdout as in tslab.
 * Usage (from kernel.json): node kernel/kernel.js --config-path {connection_file}
 */
"use strict";
const path = require("node:path");
const util = require("node:util");

const tslabDist = path.join(__dirname, "..", "node_modules", "tslab", "dist");
const jupyter = require(path.join(tslabDist, "jupyter.js"));
const converterModule = require(path.join(tslabDist, "converter.js"));
const executorModule = require(path.join(tslabDist, "executor.js"));
const { startKernel } = require(path.join(tslabDist, "main.js"));
const { JupyterHandlerImpl, ZmqServer } = jupyter;

const MIME_BUNDLE = Symbol.for("weightscope.mimeBundle");
/** The format tslab's executor prints a TypeScript diagnostic with (executor.js printDiagnostics). */
const DIAGNOSTIC_FORMAT = "%s%d:%d - %s";
/** Stack frames of the kernel itself (vm, tslab, this file): noise under a cell's error. */
const KERNEL_FRAME = /^\s+at .*(node:vm|node:internal|[\\/]tslab[\\/]dist[\\/]|[\\/]kernel[\\/]kernel\.js)/;

/**
 * What the executing cell produced besides its output streams, filled by the converter and executor hooks
 * below: the cell's TypeScript diagnostics, the value it threw, its last expression's value.
 */
let cell = null;

// The compiler's diagnostics, with their codes (the executor only prints them as text).
const createConverter = converterModule.createConverter;
converterModule.createConverter = function (...args) {
  const converter = createConverter.apply(this, args);
  const convert = converter.convert;
  converter.convert = function (...convertArgs) {
    const converted = convert.apply(this, convertArgs);
    if (cell) cell.diagnostics = converted.diagnostics;
    return converted;
  };
  return converter;
};

// The executor reports a thrown value and the last expression through the console it is given: take them.
const cellConsole = {
  log(value) {
    if (cell) cell.lastValue = { value };
    else console.log(value);
  },
  error(...args) {
    if (cell && args[0] === DIAGNOSTIC_FORMAT && cell.diagnostics.length > 0) return; // reported as the error
    if (cell && args.length === 1 && cell.thrown === null) cell.thrown = { value: args[0] };
    else console.error(...args); // diagnostics of a %%module cell, which does not fail
  },
};
const createExecutor = executorModule.createExecutor;
executorModule.createExecutor = (rootDir, converters) => createExecutor(rootDir, converters, cellConsole);

const handleKernel = JupyterHandlerImpl.prototype.handleKernel;
JupyterHandlerImpl.prototype.handleKernel = function () {
  return { status: "ok", ...handleKernel.call(this) };
};

/**
 * Queues one execute request. `io` publishes on IOPub and `drainShell` resolves once every request already
 * in the shell socket has been received. Resolves to the execute_reply content.
 */
JupyterHandlerImpl.prototype.handleExecute = function (request, io) {
  this.abortEpoch = this.abortEpoch ?? 0;
  const epoch = this.abortEpoch;
  const turn = (this.cellQueue ?? Promise.resolve()).then(async () => {
    // A failure with stop_on_error since this request was queued aborts it, as ipykernel does.
    if (this.abortEpoch !== epoch) return { status: "aborted" };
    let reply;
    try {
      reply = await this.runCell(request, io);
    } catch (err) {
      // A fault of the kernel itself: still an error reply, so the client does not wait forever.
      reply = { status: "error", execution_count: this.execCount, ...describeThrown(err) };
    }
    if (reply.status === "error" && !request.silent && request.stop_on_error !== false) {
      // Requests still unread in the socket were sent before this error was known: receive them (they queue
      // with the old epoch), then abort all of them. Requests sent after the error reply run.
      await io.drainShell();
      this.abortEpoch++;
    }
    return reply;
  });
  this.cellQueue = turn.catch(() => undefined);
  return turn;
};

/** Runs one cell and publishes its input, last value and error. Resolves to the execute_reply content. */
JupyterHandlerImpl.prototype.runCell = async function (request, io) {
  // As tslab: output written after the cell finished (timers, promises) still goes to this cell.
  process.stdout.write = this.createWriteToIopub("stdout", io.writeStream);
  process.stderr.write = this.createWriteToIopub("stderr", io.writeStream);
  jupyter.lastWriteDisplayData = io.writeDisplayData;
  const silent = Boolean(request.silent);
  if (!silent && request.store_history !== false) this.execCount++;
  const count = this.execCount;
  if (!silent) io.publish("execute_input", { code: request.code, execution_count: count });

  cell = { diagnostics: [], thrown: null, lastValue: null };
  let ok;
  try {
    ok = await this.executor.execute(request.code);
  } catch (err) {
    ok = false;
    cell.thrown = cell.thrown ?? { value: err };
  }
  const outcome = cell;
  cell = null;
  if (!ok) {
    const error = describeFailure(outcome, request.code);
    io.publish("error", error);
    return { status: "error", execution_count: count, ...error };
  }
  if (outcome.lastValue && !silent) showLastValue(outcome.lastValue.value, count, io);
  return { status: "ok", execution_count: count, user_expressions: {}, payload: [] };
};

/** Sends a value's display bundle as the cell's execute_result, or prints it as tslab does. */
function showLastValue(value, count, io) {
  const method = value[MIME_BUNDLE];
  if (typeof method !== "function") {
    console.log(value);
    return;
  }
  let bundle;
  try {
    bundle = method.call(value);
    const data = bundle && bundle.data;
    if (!data || typeof data !== "object" || typeof data["text/plain"] !== "string") {
      throw new Error('Symbol.for("weightscope.mimeBundle") must return { data: { "text/plain": string, ... }, metadata? }');
    }
  } catch (err) {
    // As IPython with a failing _repr_*_: the text form, and the failure on stderr.
    console.log(value);
    console.error("The rich display of this value failed:", err);
    return;
  }
  io.publish("execute_result", { execution_count: count, data: bundle.data, metadata: bundle.metadata ?? {} });
}

/** ename / evalue / traceback of a failed cell. */
function describeFailure(outcome, code) {
  if (outcome.diagnostics.length > 0) return describeDiagnostics(outcome.diagnostics, code);
  if (outcome.thrown) return describeThrown(outcome.thrown.value);
  return { ename: "Error", evalue: "the cell failed", traceback: ["Error: the cell failed"] };
}

/**
 * TypeScript diagnostics: SyntaxError when any is a syntax error (codes 1000-1999; the type errors beside one
 * usually follow from it), TypeError otherwise.
 */
function describeDiagnostics(diagnostics, code) {
  const ename = diagnostics.some((d) => d.code >= 1000 && d.code < 2000) ? "SyntaxError" : "TypeError";
  const where = (d) => `${d.fileName ? `${d.fileName} ` : ""}${d.start.line + 1}:${d.start.character + 1}`;
  const lines = code.split("\n");
  const traceback = [`${ename}: the cell does not compile (${diagnostics.length} ${diagnostics.length === 1 ? "error" : "errors"})`];
  let previous = null;
  for (const d of diagnostics) {
    traceback.push(`${where(d)} - ${d.messageText}`);
    const position = `${d.fileName}:${d.start.offset}`;
    if (!d.fileName && position !== previous && lines[d.start.line] !== undefined) {
      // The source line with the reported span underlined.
      const source = lines[d.start.line];
      const width = d.end.line === d.start.line ? Math.max(1, d.end.character - d.start.character) : Math.max(1, source.length - d.start.character);
      traceback.push(`    ${source}\n    ${" ".repeat(d.start.character)}${"^".repeat(width)}`);
    }
    previous = position;
  }
  const first = diagnostics[0];
  return { ename, evalue: `${where(first)} - ${first.messageText}`, traceback };
}

/** A thrown value: its name and message, and its stack without the kernel's own frames. */
function describeThrown(value) {
  if (!value || typeof value !== "object" || typeof value.stack !== "string") {
    const text = util.inspect(value);
    return { ename: "Error", evalue: `uncaught ${text}`, traceback: [`Uncaught ${text}`] };
  }
  const message = String(value.message ?? "");
  const interrupted = /^Script execution was interrupted|^Interrupted asynchronously$/.test(message);
  const ename = interrupted ? "KeyboardInterrupt" : typeof value.name === "string" && value.name ? value.name : value.constructor?.name || "Error";
  // Node puts the failing line of the compiled JavaScript above the stack of an error thrown by a vm script.
  const stack = value.stack.replace(/^evalmachine\.<anonymous>:\d+\n[\s\S]*?\n\n/, "");
  const traceback = stack.split("\n").filter((line) => !KERNEL_FRAME.test(line));
  return { ename, evalue: message, traceback };
}

// Counts the messages the receive loops have handed over, so drainShell can tell when none are left waiting.
const handleShellMessage = ZmqServer.prototype.handleShellMessage;
ZmqServer.prototype.handleShellMessage = function (...args) {
  this.received = (this.received ?? 0) + 1;
  return handleShellMessage.apply(this, args);
};

/**
 * Resolves once the receive loop has taken every message already waiting in the shell socket: when two event
 * loop turns (each polls the socket) pass without a new message. (Asking the socket itself, `readable`, reads
 * ZMQ_EVENTS, which can swallow the edge-triggered wake-up of the pending receive and stall the loop.)
 */
ZmqServer.prototype.drainShell = async function () {
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  let seen;
  do {
    seen = this.received;
    await turn();
    await turn();
  } while (this.received !== seen);
};

ZmqServer.prototype.handleExecute = async function (sock, msg) {
  const publish = (type, content) => {
    const out = msg.createReply();
    out.header.msg_type = type;
    out.content = content;
    out.signAndSend(this.connInfo.key, this.iopub);
  };
  const io = {
    publish,
    writeStream: (name, text) => publish("stream", { name, text }),
    writeDisplayData: (data, update) => publish(update ? "update_display_data" : "display_data", data),
    drainShell: () => this.drainShell(),
  };
  const reply = msg.createReply();
  reply.header.msg_type = "execute_reply";
  reply.content = await this.handler.handleExecute(msg.content, io);
  reply.signAndSend(this.connInfo.key, sock);
};

const index = process.argv.indexOf("--config-path");
if (index < 0 || !process.argv[index + 1]) {
  console.error("usage: node kernel/kernel.js --config-path <connection file>");
  process.exit(2);
}
startKernel({ configPath: process.argv[index + 1], enableFindLocal: false, jsKernel: false });
