"""The Jupyter project's kernel conformance tests (jupyter_kernel_test) against tdc's kernel,
and interrupting a cell. Run by tests/suite/notebook.rs, which installs the kernel named in
TDC_KERNEL into a throwaway JUPYTER_DATA_DIR."""

import os
import queue
import time
import unittest

import jupyter_kernel_test
from jupyter_client.manager import start_new_kernel

KERNEL = os.environ["TDC_KERNEL"]


class TdcKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = KERNEL
    language_name = "rhai"
    file_extension = ".rhai"

    code_hello_world = 'print("hello, world");'
    code_stderr = 'debug("to stderr");'
    code_generate_error = 'throw "boom";'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"tdc" + "!"', "result": "tdc!"},
        {"code": "td.campaigns().len() > 0", "result": "true"},
    ]
    code_display_data = [
        {"code": "display(#{answer: 42});", "mime": "application/json"},
        {"code": "display(td.cdrs().limit(3).to_array());", "mime": "text/html"},
    ]
    code_history_pattern = "6*"
    # jupyter_client leaves out a search's `unique` and `n` when not given, which the
    # protocol crate cannot read: search is checked below with both given.
    supported_history_operations = ("tail", "range")
    code_inspect_sample = "td.cdrs"
    completion_samples = [
        {"text": "td.campaig", "matches": {"campaign(", "campaign_leads(", "campaigns("}},
        {"text": "let total = cdr::kp"},
    ]
    complete_code_samples = ["1 + 1", "let x = 1;", "fn f(x) {\n  x * 2\n}"]
    incomplete_code_samples = ["fn f(x) {", "let a = [1, 2,", 'let s = "abc']
    invalid_code_samples = ["let x = ;", "foo(1 2)"]


class TdcKernelBehaviour(unittest.TestCase):
    """What the conformance tests leave to each kernel: shared scope, errors, interrupts."""

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name=KERNEL)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel()

    def run_cell(self, code, timeout=30):
        outputs = []
        reply = self.kc.execute_interactive(
            code, timeout=timeout, output_hook=outputs.append
        )
        return reply, outputs

    def result_text(self, outputs):
        results = [o for o in outputs if o["msg_type"] == "execute_result"]
        self.assertEqual(len(results), 1, outputs)
        return results[0]["content"]["data"]["text/plain"]

    def test_cells_share_one_scope(self):
        self.run_cell("let base = 20; fn twice(x) { x * 2 }")
        reply, outputs = self.run_cell("twice(base) + 2")
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(self.result_text(outputs), "42")

    def test_an_error_shows_the_script_diagnostic(self):
        reply, outputs = self.run_cell("let n = 1;\nlet m = cdrz.len();")
        self.assertEqual(reply["content"]["status"], "error")
        errors = [o["content"] for o in outputs if o["msg_type"] == "error"]
        self.assertEqual(len(errors), 1, outputs)
        self.assertIn("cdrz", errors[0]["evalue"])
        self.assertRegex(errors[0]["traceback"][0], r"^<cell \d+>:2:9: error: ")
        self.assertEqual(errors[0]["traceback"][1], "   2 | let m = cdrz.len();")

    def test_history_search_finds_cells_by_pattern(self):
        for code in ["1 + 1", "6 * 7", "6 * 7"]:
            self.run_cell(code)
        self.kc.history(
            hist_access_type="search", pattern="6*", unique=True, n=0, output=True, raw=True
        )
        reply = self.kc.get_shell_msg(timeout=10)
        history = reply["content"]["history"]
        self.assertEqual([entry[2] for entry in history], [["6 * 7", "42"]])

    def test_a_scans_progress_is_one_line_updated_in_place(self):
        code = "let n = 0;\nfor cdr in td.cdrs() { n += 1; }\nprint(`${n} CDRs`);"
        reply, outputs = self.run_cell(code)
        self.assertEqual(reply["content"]["status"], "ok")
        shown = [o for o in outputs if o["msg_type"] in ("display_data", "update_display_data")]
        # One display, updated a few times a second, emptied when the scan is done.
        self.assertEqual(shown[0]["msg_type"], "display_data", shown)
        display_id = shown[0]["content"]["transient"]["display_id"]
        lines = [o["content"]["data"]["text/plain"] for o in shown]
        self.assertTrue(all(o["msg_type"] == "update_display_data" for o in shown[1:]), shown)
        self.assertTrue(all(o["content"]["transient"]["display_id"] == display_id for o in shown))
        self.assertIn(" cdrs ", lines[0])
        self.assertLess(len(shown), 30, lines)
        self.assertEqual(lines[-1], "")
        streams = [o["content"] for o in outputs if o["msg_type"] == "stream"]
        self.assertEqual(streams, [{"name": "stdout", "text": "20000 CDRs\n"}])

    def test_a_query_shows_its_url_and_first_rows_as_a_table(self):
        reply, outputs = self.run_cell('td.cdrs().where("status", "NO_ANSWER")')
        self.assertEqual(reply["content"]["status"], "ok")
        data = [o for o in outputs if o["msg_type"] == "execute_result"][0]["content"]["data"]
        self.assertTrue(data["text/plain"].startswith("Query http://127.0.0.1:"), data)
        self.assertTrue(data["text/html"].startswith("<p><code>Query http://127.0.0.1:"), data)
        self.assertIn("<td>NO_ANSWER</td>", data["text/html"])
        self.assertIn("(the first 50 rows; .to_array() reads them all)", data["text/html"])

    def test_cells_write_in_the_notebooks_folder_and_not_elsewhere(self):
        reply, _ = self.run_cell('write_json(#{a: 1}, "inside.json");')
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertTrue(os.path.isfile("inside.json"))
        outside = os.path.join(os.path.dirname(os.getcwd()), "tdc-kernel-outside.json")
        reply, _ = self.run_cell(f'write_json(#{{a: 1}}, "{outside}");')
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("--allow-write", reply["content"]["evalue"])
        self.assertFalse(os.path.exists(outside))

    def complete(self, code):
        self.kc.complete(code)
        reply = self.kc.get_shell_msg(timeout=10)["content"]
        return reply["cursor_start"], set(reply["matches"])

    def test_completion_knows_map_keys_chains_and_the_stdlib(self):
        self.run_cell('let record = #{campaign_id: 7, caller: "x"};')
        self.assertEqual(
            self.complete("let a = 1;\nrecord.ca"), (18, {"campaign_id", "caller"})
        )
        self.assertEqual(self.complete("td.cdrs().lim"), (10, {"limit("}))
        start, matches = self.complete("cdr::kp")
        self.assertEqual(start, 0)
        self.assertIn("cdr::kpis(", matches)

    def test_inspect_shows_the_doc_of_a_stdlib_function(self):
        code = "let k = cdr::kpis(rows);"
        self.kc.inspect(code, cursor_pos=code.index("kpis") + 2)
        reply = self.kc.get_shell_msg(timeout=10)["content"]
        self.assertTrue(reply["found"])
        text = reply["data"]["text/plain"]
        self.assertTrue(text.startswith("cdr::kpis(rows"), text)
        self.assertIn("Key figures of finished calls", text)

    def test_a_message_signed_with_another_key_is_ignored(self):
        from jupyter_client.session import Session

        forged = Session(key=b"not the connection file's key")
        content = {"code": "let forged = 1;", "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
        forged.send(self.kc.shell_channel.socket, "execute_request", content)
        with self.assertRaises(queue.Empty):
            self.kc.get_shell_msg(timeout=2)
        reply, outputs = self.run_cell("forged")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("forged", reply["content"]["evalue"])

    def test_kernel_info_names_the_dialer(self):
        self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=10)["content"]
        self.assertRegex(reply["banner"], r"^tdc \S+ on the embedded sandbox at http://127\.0\.0\.1:")

    def check_interrupt(self, interrupt):
        started = time.monotonic()
        msg_id = self.kc.execute("let n = 0; loop { n += 1; }")
        time.sleep(1)
        interrupt()
        reply = self.kc.get_shell_msg(timeout=10)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "Interrupted")
        self.assertLess(time.monotonic() - started, 5)
        reply, outputs = self.run_cell("n > 0")
        self.assertEqual(self.result_text(outputs), "true")

    def test_a_restart_ends_the_kernel_and_starts_afresh(self):
        self.run_cell("let before_restart = 1;")
        started = time.monotonic()
        self.km.restart_kernel(now=False)
        # jupyter_client kills a kernel that has not ended 5 s after a shutdown_request.
        self.assertLess(time.monotonic() - started, 4)
        self.kc.wait_for_ready(timeout=30)
        reply, outputs = self.run_cell("before_restart")
        self.assertEqual(reply["content"]["status"], "error")
        reply, outputs = self.run_cell("6 * 7")
        self.assertEqual(self.result_text(outputs), "42")

    def test_sigint_stops_a_running_cell(self):
        self.check_interrupt(self.km.interrupt_kernel)

    def test_interrupt_request_stops_a_running_cell(self):
        def request():
            message = self.kc.session.msg("interrupt_request", {})
            self.kc.control_channel.send(message)
            reply = self.kc.control_channel.get_msg(timeout=5)
            self.assertEqual(reply["msg_type"], "interrupt_reply")

        self.check_interrupt(request)


if __name__ == "__main__":
    unittest.main()
