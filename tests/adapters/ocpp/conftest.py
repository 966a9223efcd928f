"""Fixtures of the OCPP tests: `run_lab` (bounded asyncio run with teardown), `tls_files`."""

import asyncio
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import typer
from ocpp_lab import OcppLab


@pytest.fixture
def run_lab():
    """Run `scenario(lab)` in a fresh loop with a time bound; the lab is always closed."""

    def run(scenario: Callable[[OcppLab], Awaitable[None]], timeout_s: float = 20.0) -> None:
        async def main() -> None:
            lab = OcppLab()
            try:
                await asyncio.wait_for(scenario(lab), timeout_s)
            finally:
                await lab.aclose()

        asyncio.run(main())

    return run


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """Self-signed certificate + key for 127.0.0.1 (made with the openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not found: cannot generate a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture
def cli_app() -> typer.Typer:
    """`twin csms` / `twin emulate ocpp` mounted on a bare typer app (as twin.cli.main does)."""
    from adapters.ocpp.cli import register_cli

    app = typer.Typer()
    emulate_app = typer.Typer()
    app.add_typer(emulate_app, name="emulate")
    register_cli(app, emulate_app)
    return app
