"""
Emulates nbgrader's autograde of one notebook (nbgrader is not packaged for Debian; its rules are in
shared/reference/notebook.md section 4): the notebook is executed by nbclient with allow_errors=True, as
nbgrader's Execute preprocessor does, in the real kernel; a failed reply without an IOPub error output gets one
built from the reply (nbgrader's on_cell_executed hook, which indexes ename/evalue/traceback and would raise
KeyError if the kernel left them out); then each autograded test cell (grade and not solution) earns its points
iff it has no `error` output and no `stderr` stream (nbgrader's determine_grade).

Usage: python3 autograde.py NOTEBOOK KERNEL_NAME CELL_TIMEOUT   ->   JSON on stdout.
"""
import json
import os
import sys

import nbformat
from nbclient import NotebookClient


def main(path, kernel, timeout):
    nb = nbformat.read(path, as_version=4)
    replies = {}
    missing_fields = []

    def on_cell_executed(cell, cell_index, execute_reply):
        content = execute_reply["content"]
        replies[cell_index] = content.get("status")
        if content.get("status") != "error":
            return
        absent = [k for k in ("ename", "evalue", "traceback") if k not in content]
        if absent:
            missing_fields.append({"cell": cell_index, "fields": absent})
            return
        if not any(o.get("output_type") == "error" and o.get("ename") == content["ename"] for o in cell.outputs):
            cell.outputs.append(nbformat.v4.new_output("error", ename=content["ename"], evalue=content["evalue"], traceback=content["traceback"]))

    client = NotebookClient(
        nb,
        kernel_name=kernel,
        allow_errors=True,
        timeout=timeout,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
        on_cell_executed=on_cell_executed,
    )
    client.execute()

    cells = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        feedback = None
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                feedback = f"{out.get('ename')}: {out.get('evalue')}"
                break
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                feedback = "stderr: " + "".join(out.get("text", ""))
                break
        points = float(meta["points"])
        cells.append({
            "grade_id": meta["grade_id"],
            "points": points,
            "score": 0.0 if feedback is not None else points,
            "status": replies.get(index),
            "feedback": feedback,
        })
    errors_elsewhere = [
        {"cell": i, "grade_id": c.metadata.get("nbgrader", {}).get("grade_id"), "status": replies.get(i)}
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and not (c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.get("nbgrader", {}).get("solution"))
        and (replies.get(i) != "ok" or any(o.get("output_type") == "error" for o in c.get("outputs", [])))
    ]
    json.dump({"cells": cells, "missing_reply_fields": missing_fields, "other_failures": errors_elsewhere,
               "score": sum(c["score"] for c in cells), "max_score": sum(c["points"] for c in cells)}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
