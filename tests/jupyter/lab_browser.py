"""Runs a notebook cell in JupyterLab, headless on loopback, opened in Debian's Chromium through
Playwright (the system browser, never Playwright's own): the cell shows a table and a chart.
Saves a screenshot and prints what the page shows as JSON for tests/suite/notebook.rs to judge.
The kernel is TDC_KERNEL; the working folder is the Jupyter root."""

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from playwright.sync_api import sync_playwright

KERNEL = os.environ["TDC_KERNEL"]
CHROMIUM = os.environ.get("TDC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CELL = """import "cdr" as cdr;
let hours = cdr::by_hour(td.cdrs().limit(2000).to_array());
display(hours);
bar_chart(hours, "hour", "asr")"""


def write_notebook(path):
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "by-hour",
                "metadata": {},
                "outputs": [],
                "source": CELL,
            }
        ],
        "metadata": {"kernelspec": {"name": KERNEL, "display_name": KERNEL, "language": "rhai"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    with open(path, "w") as out:
        json.dump(notebook, out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(url, lab):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if lab.poll() is not None:
            sys.exit(f"jupyter lab ended with {lab.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    sys.exit("jupyter lab did not answer within 60 s")


def run_first_cell(page):
    """Ctrl-Enter in the first cell. JupyterLab ignores it for a moment after the kernel says
    it is idle (its session is not ready yet), so it is pressed again until the cell's prompt
    shows that it runs or ran."""
    prompt = ".jp-Notebook .jp-Cell:first-child .jp-InputPrompt"
    for _ in range(60):
        page.click(".jp-Notebook .jp-Cell:first-child .cm-content")
        page.keyboard.press("Control+Enter")
        try:
            page.wait_for_function(
                f"() => /\\[(\\*|\\d+)\\]/.test(document.querySelector('{prompt}')?.textContent)",
                timeout=1_000,
            )
            return
        except Exception:
            continue
    sys.exit("JupyterLab did not run the cell")


def main():
    root = os.getcwd()
    write_notebook(os.path.join(root, "by_hour.ipynb"))
    port, token = free_port(), secrets.token_hex(16)
    log = open(os.path.join(root, "jupyter-lab.log"), "w")
    lab = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.news_url=None",
            # CI runs as root.
            "--allow-root",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_server(f"{base}/api/status?token={token}", lab)
        with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
            browser = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 1600},
            )
            page = browser.new_page()
            page.goto(f"{base}/lab/tree/by_hour.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=60_000)
            # The kernel is ready when the status bar names it idle.
            page.wait_for_function(
                "() => document.querySelector('.jp-Notebook-ExecutionIndicator')"
                "?.getAttribute('data-status') === 'idle'",
                timeout=60_000,
            )
            run_first_cell(page)
            try:
                page.wait_for_selector(".jp-OutputArea-output table", timeout=60_000)
                page.wait_for_selector(".jp-RenderedSVG", timeout=60_000)
            except Exception:
                # What the page showed instead, for whoever reads the failure.
                page.screenshot(path=os.path.join(root, "jupyterlab-failed.png"), full_page=True)
                raise
            screenshot = os.path.join(root, "jupyterlab.png")
            page.screenshot(path=screenshot, full_page=True)
            shown = page.evaluate(
                """() => {
                    const table = document.querySelector('.jp-OutputArea-output table');
                    const svg = document.querySelector('.jp-RenderedSVG');
                    const picture = svg && (svg.querySelector('svg') || svg.querySelector('img'));
                    return {
                        headers: [...table.querySelectorAll('th')].map(th => th.textContent),
                        rows: table.querySelectorAll('tbody tr').length,
                        first_row: [...table.querySelectorAll('tbody tr:first-child td')]
                            .map(td => td.textContent),
                        chart: picture ? picture.tagName.toLowerCase() : null,
                        chart_source: picture
                            ? (picture.getAttribute('src') || picture.outerHTML).slice(0, 40)
                            : null,
                        errors: document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length,
                    };
                }"""
            )
            shown["screenshot"] = screenshot
            browser.close()
        print(json.dumps(shown))
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()


if __name__ == "__main__":
    main()
