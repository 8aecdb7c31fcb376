"""Kernel protocol conformance of the weightscope kernel (Debian's python3-jupyter-kernel-test)."""
import unittest

import jupyter_kernel_test


class WeightscopeKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "weightscope"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    completion_samples = [{"text": "Math.fl", "matches": {"floor"}}]
    complete_code_samples = ["let a = 1;"]
    incomplete_code_samples = ["function f() {"]
    code_generate_error = 'throw new Error("expected")'
    # Plain last values print on stdout (checked by code_hello_world); a value with a display bundle is an
    # execute_result.
    code_execute_result = [
        {
            "code": '({ [Symbol.for("weightscope.mimeBundle")]() { return { data: { "text/plain": "3", "text/html": "<b>3</b>" } }; } })',
            "mime": "text/html",
            "result": "<b>3</b>",
        }
    ]
    code_display_data = [{"code": 'import * as tslab from "tslab"; tslab.display.html("<b>hi</b>")', "mime": "text/html"}]
    code_inspect_sample = "Math.max"
    code_page_something = None


if __name__ == "__main__":
    unittest.main()
