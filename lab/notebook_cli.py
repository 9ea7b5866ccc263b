"""``lab notebook``: Jupyter on 127.0.0.1 with the exercises and the chapter's notebooks, in
the lab's own environment (its kernel is this virtualenv's Python, so ``import lab`` works in
every cell) and with this lab's settings (its kernels reach this lab, whatever port it is on)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import click

from emulator.config import CHECKOUT
from lab.config import LabConfig
from lab.runtime import LabError, child_env
from lab.targets.options import cloud_options


@click.command("notebook")
@click.option("--port", type=click.IntRange(1, 65535), default=8888, show_default=True)
@click.option("--browser/--no-browser", default=False, show_default=True, help="open a browser")
@cloud_options
@click.pass_obj
def notebook(config: LabConfig, port: int, browser: bool) -> None:
    """Jupyter on 127.0.0.1 with exercises/ and notebooks/ (a token in the URL it prints;
    Ctrl-C stops it)."""
    try:
        import jupyterlab  # noqa: F401 (only: is it there)
    except ImportError:
        raise LabError(
            "Jupyter is not installed in the lab's environment: run make setup"
        ) from None
    token = secrets.token_hex(16)
    env = child_env(config)
    url = f"http://127.0.0.1:{port}/lab?token={token}"
    click.echo(f"Jupyter for the lab at {url}")
    click.echo(f"  exercises/ and notebooks/ of {CHECKOUT}; the kernels reach {config.endpoint}")
    argv = [
        sys.executable, "-m", "jupyter", "lab",
        "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--ServerApp.root_dir={CHECKOUT}", f"--IdentityProvider.token={token}",
        "--ServerApp.open_browser=" + ("True" if browser else "False"),
    ]  # fmt: skip
    if os.geteuid() == 0:  # a container or a CI machine: Jupyter refuses root unless told
        argv.append("--allow-root")
    try:
        done = subprocess.run(argv, env=env, check=False)
    except KeyboardInterrupt:
        return
    if done.returncode not in (0, -2, 130):
        raise LabError(f"Jupyter stopped with status {done.returncode} (is port {port} free?)")
