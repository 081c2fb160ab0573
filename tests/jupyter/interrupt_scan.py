"""Interrupts a cell that scans CDRs from a slow dialer, then runs one more cell; prints what
happened as JSON for tests/suite/notebook.rs to judge. The kernel is TDC_KERNEL."""

import json
import os
import time

from jupyter_client.manager import start_new_kernel

km, kc = start_new_kernel(kernel_name=os.environ["TDC_KERNEL"])
try:
    msg_id = kc.execute("let n = 0;\nfor cdr in td.cdrs() { n += 1; }\nn")
    # Long enough for the scan's first requests to be in flight.
    time.sleep(1.5)
    interrupted = time.monotonic()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=30)
    returned_after = time.monotonic() - interrupted
    after = []
    kc.execute_interactive("6 * 7", timeout=30, output_hook=after.append)
    results = [
        m["content"]["data"]["text/plain"] for m in after if m["msg_type"] == "execute_result"
    ]
    print(
        json.dumps(
            {
                "answers": reply["parent_header"]["msg_id"] == msg_id,
                "status": reply["content"]["status"],
                "ename": reply["content"].get("ename"),
                "returned_after": returned_after,
                "next_cell": results,
            }
        )
    )
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
