"""ipykernel's execution semantics in the weightscope kernel, through the real jupyter_client and nbclient.

Run by test/e2e/kernel.test.ts with JUPYTER_PATH pointing at a freshly installed kernelspec.
"""
import queue
import time
import unittest

import jupyter_client
import nbclient
import nbformat
from nbclient.exceptions import CellExecutionError

TIMEOUT = 120
TYPE_ERROR = 'let n: number = "five";'
THROW = 'throw new RangeError("bad range");'
RICH = (
    'const rich = { [Symbol.for("weightscope.mimeBundle")]() {'
    ' return { data: { "text/plain": "rich text", "text/html": "<b>rich</b>" }, metadata: { isolated: false } }; } };\n'
    "rich"
)


class Session:
    """One kernel with helpers that send requests without waiting and collect replies and IOPub by request."""

    def __init__(self):
        self.km, self.kc = jupyter_client.manager.start_new_kernel(kernel_name="weightscope", startup_timeout=TIMEOUT)
        self.replies = {}
        self.iopub = []

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def send(self, code, **flags):
        return self.kc.execute(code, **flags)

    def reply(self, msg_id):
        while msg_id not in self.replies:
            msg = self.kc.get_shell_msg(timeout=TIMEOUT)
            self.replies[msg["parent_header"]["msg_id"]] = msg["content"]
        return self.replies[msg_id]

    def outputs(self, msg_id):
        """IOPub messages of one request up to its idle status (type, content), status messages left out."""
        out = []
        while True:
            for msg in self.iopub:
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return [(m["msg_type"], m["content"]) for m in self.iopub
                            if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] != "status"]
            try:
                self.iopub.append(self.kc.get_iopub_msg(timeout=TIMEOUT))
            except queue.Empty:
                raise AssertionError(f"no idle status for {msg_id}") from None

    def stdout(self, msg_id):
        return "".join(c["text"] for t, c in self.outputs(msg_id) if t == "stream" and c["name"] == "stdout")


class ErrorSemantics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Session()

    @classmethod
    def tearDownClass(cls):
        cls.s.close()

    def test_type_error_is_reported_and_queued_requests_are_aborted(self):
        s = self.s
        ids = [s.send(TYPE_ERROR), s.send('console.log("queued 1")'), s.send(THROW),
               s.send('console.log("queued 2")', stop_on_error=False)]
        failed = s.reply(ids[0])
        self.assertEqual(failed["status"], "error")
        self.assertEqual(failed["ename"], "TypeError")
        self.assertEqual(failed["evalue"], "1:5 - Type 'string' is not assignable to type 'number'.")
        self.assertIsInstance(failed["execution_count"], int)
        self.assertTrue(all(isinstance(line, str) for line in failed["traceback"]))
        self.assertIn('let n: number = "five";\n        ^', "\n".join(failed["traceback"]))
        errors = [c for t, c in s.outputs(ids[0]) if t == "error"]
        self.assertEqual(errors, [{k: failed[k] for k in ("ename", "evalue", "traceback")}])
        # Every request queued when the error happened is aborted, whatever its own stop_on_error says.
        for msg_id in ids[1:]:
            self.assertEqual(s.reply(msg_id), {"status": "aborted"})
            self.assertEqual(s.outputs(msg_id), [])
        # A request sent after the error reply runs.
        after = s.send('console.log("after")')
        self.assertEqual(s.reply(after)["status"], "ok")
        self.assertEqual(s.stdout(after), "after\n")

    def test_runtime_error_keeps_a_readable_stack(self):
        s = self.s
        ids = [s.send("function deep() { " + THROW + " }\ndeep();"), s.send('console.log("queued")')]
        failed = s.reply(ids[0])
        self.assertEqual((failed["status"], failed["ename"], failed["evalue"]), ("error", "RangeError", "bad range"))
        self.assertEqual(failed["traceback"][0], "RangeError: bad range")
        self.assertTrue(any(line.strip().startswith("at deep (") for line in failed["traceback"]), failed["traceback"])
        self.assertFalse(any("tslab" in line or "node:vm" in line for line in failed["traceback"]), failed["traceback"])
        self.assertEqual(s.reply(ids[1]), {"status": "aborted"})

    def test_requests_still_unread_while_a_synchronous_cell_fails_are_aborted(self):
        # The busy loop blocks the kernel, so the next requests wait in its socket, unread, when the error happens.
        s = self.s
        busy = s.send("const until = Date.now() + 1500; while (Date.now() < until) {}\nthrow new Error(\"late\");")
        time.sleep(0.5)
        queued = [s.send('console.log("queued 1")'), s.send('console.log("queued 2")')]
        self.assertEqual(s.reply(busy)["evalue"], "late")
        for msg_id in queued:
            self.assertEqual(s.reply(msg_id), {"status": "aborted"})
        self.assertEqual(s.stdout(s.send('console.log("after")')), "after\n")

    def test_stop_on_error_false_on_the_failing_request_lets_queued_requests_run(self):
        s = self.s
        ids = [s.send(THROW, stop_on_error=False), s.send('console.log("ran 1")'), s.send(TYPE_ERROR, stop_on_error=False),
               s.send('console.log("ran 2")')]
        self.assertEqual(s.reply(ids[0])["ename"], "RangeError")
        self.assertEqual(s.reply(ids[1])["status"], "ok")
        self.assertEqual(s.stdout(ids[1]), "ran 1\n")
        self.assertEqual(s.reply(ids[2])["ename"], "TypeError")
        self.assertEqual(s.stdout(ids[3]), "ran 2\n")

    def test_silent_failure_aborts_nothing_and_publishes_no_input(self):
        s = self.s
        ids = [s.send(THROW, silent=True), s.send('console.log("ran")')]
        self.assertEqual(s.reply(ids[0])["status"], "error")
        self.assertNotIn("execute_input", [t for t, _ in s.outputs(ids[0])])
        self.assertEqual(s.stdout(ids[1]), "ran\n")

    def test_interrupt_is_a_keyboard_interrupt_and_the_kernel_lives_on(self):
        s = self.s
        for code in ["while (true) {}", "await new Promise(() => {});"]:
            msg_id = s.send(code)
            time.sleep(2)
            s.km.interrupt_kernel()
            failed = s.reply(msg_id)
            self.assertEqual((failed["status"], failed["ename"]), ("error", "KeyboardInterrupt"), failed)
            self.assertEqual(s.stdout(s.send('console.log("alive")')), "alive\n")

    def test_syntax_error_name(self):
        s = self.s
        failed = s.reply(s.send("let = ;"))
        self.assertEqual(failed["ename"], "SyntaxError")
        self.assertRegex(failed["evalue"], r"^1:\d+ - ")

    def test_rich_last_value_is_an_execute_result_and_plain_values_print(self):
        s = self.s
        rich = s.send(RICH)
        count = s.reply(rich)["execution_count"]
        outputs = s.outputs(rich)
        self.assertIn(("execute_result", {"execution_count": count, "data": {"text/plain": "rich text", "text/html": "<b>rich</b>"},
                                          "metadata": {"isolated": False}}), outputs)
        self.assertEqual(s.stdout(rich), "", "a value sent as execute_result is not also printed")
        plain = s.send("({ a: 1 })")
        self.assertEqual(s.reply(plain)["status"], "ok")
        self.assertEqual(s.stdout(plain), "{ a: 1 }\n")
        self.assertNotIn("execute_result", [t for t, _ in s.outputs(plain)])

    def test_broken_mime_bundle_falls_back_to_text(self):
        s = self.s
        broken = s.send('({ [Symbol.for("weightscope.mimeBundle")]() { return { data: {} }; }, name: "broken" })')
        self.assertEqual(s.reply(broken)["status"], "ok")
        self.assertIn("name: 'broken'", s.stdout(broken))
        stderr = "".join(c["text"] for t, c in s.outputs(broken) if t == "stream" and c["name"] == "stderr")
        self.assertIn("must return", stderr)


def notebook(sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "weightscope", "display_name": "TypeScript (weightscope)", "language": "typescript"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    return nb


class NotebookClientRuns(unittest.TestCase):
    SOURCES = [TYPE_ERROR, 'console.log("after the type error")', THROW, 'console.log("after the throw")', "1 + 1"]

    def test_allow_errors_reports_every_error_and_runs_every_cell(self):
        nb = notebook(self.SOURCES)
        nbclient.NotebookClient(nb, timeout=TIMEOUT, allow_errors=True, kernel_name="weightscope").execute()
        outs = [cell.outputs for cell in nb.cells]
        self.assertEqual([(o.output_type, o.ename, o.evalue) for o in outs[0]],
                         [("error", "TypeError", "1:5 - Type 'string' is not assignable to type 'number'.")])
        self.assertEqual([(o.output_type, o.text) for o in outs[1]], [("stream", "after the type error\n")])
        self.assertEqual([(o.output_type, o.ename, o.evalue) for o in outs[2]], [("error", "RangeError", "bad range")])
        self.assertIn("RangeError: bad range", outs[2][0].traceback)
        self.assertEqual([(o.output_type, o.text) for o in outs[3]], [("stream", "after the throw\n")])
        self.assertEqual([o.text for o in outs[4]], ["2\n"])

    def test_without_allow_errors_the_first_error_raises_with_its_name(self):
        nb = notebook(self.SOURCES[2:])
        with self.assertRaises(CellExecutionError) as raised:
            nbclient.NotebookClient(nb, timeout=TIMEOUT, kernel_name="weightscope").execute()
        self.assertEqual((raised.exception.ename, raised.exception.evalue), ("RangeError", "bad range"))
        self.assertEqual(nb.cells[1].outputs, [], "execution stopped at the failing cell")


if __name__ == "__main__":
    unittest.main()
