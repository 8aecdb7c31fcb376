"""Figures in the weightscope kernel through nbclient: rich last values, and plotly.js carried by exactly one output
however cells are re-run or cleared. Writes the executed notebook and its HTML export to $WEIGHTSCOPE_OUT, where
test/e2e/kernel.test.ts draws them in headless Chromium.
"""
import json
import os
import unittest

import nbclient
import nbformat
from nbconvert import HTMLExporter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.environ.get("WEIGHTSCOPE_OUT", os.path.join(ROOT, "out", "kernel-figures"))
PLOTLY_MIME = "application/vnd.plotly.v1+json"
LIBRARY_MARK = "* plotly.js v"

SOURCES = [
    'import * as ws from "weightscope";\nawait ws.ready();',
    'ws.showFigure(ws.figure([{ type: "scatter", x: [1, 2, 3], y: [3, 1, 2] }], { title: "shown" }));',
    'ws.figure([{ type: "bar", x: ["a", "b"], y: [1, 2] }], { title: "last value" })',
    "const run = await ws.train(ws.mlp([2, 4, 2], { seed: 1 }), ws.data.circles({ n: 20, seed: 1 }), { epochs: 2, progress: false });\nrun",
    "ws.showTable(run.table());\nrun.table()",
]


def library_cells(nb):
    """Index of every cell whose outputs carry plotly.js, once per copy."""
    return [i for i, cell in enumerate(nb.cells) for out in cell.get("outputs", [])
            for value in out.get("data", {}).values() if isinstance(value, str) and LIBRARY_MARK in value]


class FiguresInTheKernel(unittest.TestCase):
    def test_last_values_and_one_copy_of_plotly_js_across_re_runs(self):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "weightscope", "display_name": "TypeScript (weightscope)", "language": "typescript"}
        nb.cells = [nbformat.v4.new_code_cell(src) for src in SOURCES]
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="weightscope",
                                         resources={"metadata": {"path": os.path.join(ROOT, "notebooks")}})

        def rerun(index):
            # nbclient runs each cell once: it empties a re-run cell's outputs but keeps their display ids mapped
            # (an update would then index the emptied list). Drop them, as a notebook front end does.
            client.clear_display_id_mapping(index)
            client.execute_cell(nb.cells[index], index)

        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            # Every cell that shows a figure carries the library and empties the earlier copy.
            self.assertEqual(library_cells(nb), [3])

            figure_result = [o for o in nb.cells[2].outputs if o.output_type == "execute_result"]
            self.assertEqual(len(figure_result), 1, nb.cells[2].outputs)
            self.assertEqual(figure_result[0].data["text/plain"], 'Figure "last value": bar (2 points)')
            self.assertEqual(figure_result[0].data[PLOTLY_MIME]["data"][0]["type"], "bar")
            self.assertIn("Plotly.newPlot", figure_result[0].data["text/html"])
            self.assertEqual([o for o in nb.cells[2].outputs if o.output_type == "stream"], [], "not also printed")

            run_result = [o for o in nb.cells[3].outputs if o.output_type == "execute_result"]
            self.assertEqual(len(run_result), 1, nb.cells[3].outputs)
            self.assertTrue(run_result[0].data["text/plain"].startswith("TrainRun {"), run_result[0].data["text/plain"])
            self.assertIn(PLOTLY_MIME, run_result[0].data)

            table_outputs = [o for o in nb.cells[4].outputs if o.output_type in ("display_data", "execute_result")]
            self.assertEqual([o.output_type for o in table_outputs], ["display_data", "execute_result"])
            self.assertEqual(table_outputs[0].data, table_outputs[1].data, "a last-value table displays as showTable does")

            # Re-running the cell that carried the library keeps one copy: in the re-run cell.
            rerun(3)
            self.assertEqual(library_cells(nb), [3])
            # Re-running the first figure cell moves it there.
            rerun(1)
            self.assertEqual(library_cells(nb), [1])
            # A cleared carrier (the kernel is not told) is replaced by the next cell that shows a figure.
            nb.cells[1].outputs = []
            client.clear_display_id_mapping(1)
            rerun(2)
            self.assertEqual(library_cells(nb), [2])
            rerun(1)
            self.assertEqual(library_cells(nb), [1])
            # Last, the library below figures that wait for it.
            rerun(3)
            self.assertEqual(library_cells(nb), [3])

        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, "figures.ipynb")
        nbformat.write(nb, path)
        html, _ = HTMLExporter().from_notebook_node(nb)
        with open(os.path.join(OUT, "figures.html"), "w", encoding="utf-8") as f:
            f.write(html)
        figures = sum(1 for cell in nb.cells for o in cell.outputs if PLOTLY_MIME in o.get("data", {}))
        with open(os.path.join(OUT, "figures.json"), "w", encoding="utf-8") as f:
            json.dump({"figures": figures, "notebookBytes": os.path.getsize(path)}, f)


if __name__ == "__main__":
    unittest.main()
