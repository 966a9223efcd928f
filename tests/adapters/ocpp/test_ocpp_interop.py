"""Interoperability with an OCPP client we did not write: ocpp-rpc 2.2.1 in strict mode (node)."""

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from ocpp_lab import PASSWORD

from adapters.base import ChargerStatus

INTEROP = Path(__file__).parent / "interop"


@pytest.fixture(scope="module")
def node_client() -> Path:
    """The node script, with its dependencies installed on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not installed: the independent OCPP client (ocpp-rpc) needs them")
    if not (INTEROP / "node_modules" / "ocpp-rpc").is_dir():
        command = "ci" if (INTEROP / "package-lock.json").is_file() else "install"
        subprocess.run(
            [npm, command, "--no-audit", "--no-fund"],
            cwd=INTEROP,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return INTEROP / "charge_point.js"


async def _next_event(
    process: asyncio.subprocess.Process, stderr_path: Path, timeout_s: float = 10.0
) -> dict:
    line = await asyncio.wait_for(process.stdout.readline(), timeout_s)
    if not line:
        await process.wait()
        stderr = stderr_path.read_text(errors="replace")
        raise AssertionError(f"ocpp-rpc client ended early: {stderr[-2000:]}")
    event = json.loads(line)
    assert event["event"] != "error", event["message"]
    return event


@pytest.mark.parametrize(
    ("protocol", "power_kw"),
    [("ocpp1.6", 3.3), ("ocpp2.0.1", 3.3), ("ocpp2.1", -2.0)],
)
def test_ocpp_rpc_strict_client(run_lab, node_client, tmp_path, protocol, power_kw):
    # stderr to a file: ajv prints many schema warnings that could fill a pipe and stall node.
    stderr_path = tmp_path / "node.stderr"

    async def scenario(lab):
        system = await lab.csms()
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                "node",
                str(node_client),
                system.url,
                "CP1",
                protocol,
                PASSWORD,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        try:
            ready = await _next_event(process, stderr_path)
            assert ready["boot"]["status"] == "Accepted"
            adapter = system.adapter("CP1")
            await adapter.connect()
            assert adapter.version == protocol.removeprefix("ocpp")
            await adapter.set_power(power_kw)  # strict client validates our request
            done = await _next_event(process, stderr_path)

            assert done["validationFailures"] == []
            request = done["profiles"][-1]
            if protocol == "ocpp1.6":
                profile = request["csChargingProfiles"]
                period = profile["chargingSchedule"]["chargingSchedulePeriod"][0]
                assert profile["chargingSchedule"]["chargingRateUnit"] == "W"
                assert period["limit"] == 3300
                assert profile["transactionId"] == ready["transactionId"]
                keys = {c["key"] for c in done["configuration"]}
                assert {"MeterValueSampleInterval", "MeterValuesSampledData"} <= keys
            else:
                profile = request["chargingProfile"]
                period = profile["chargingSchedule"][0]["chargingSchedulePeriod"][0]
                assert profile["transactionId"] == "interop-tx-1"
                assert profile["chargingProfilePurpose"] == "TxProfile"
                if protocol == "ocpp2.1":
                    assert period["operationMode"] == "CentralSetpoint"
                    assert period["setpoint"] == -2000
                else:
                    assert period["limit"] == 3300
                names = {
                    item["variable"]["name"]
                    for c in done["configuration"]
                    for item in c["setVariableData"]
                }
                assert {"TxUpdatedInterval", "TxUpdatedMeasurands"} <= names

            # What the CSMS made of the client's MeterValues.
            reading = await adapter.read()
            assert reading.power_kw == pytest.approx(power_kw, abs=1e-6)
            assert reading.energy_kwh == pytest.approx(1.2345, abs=1e-9)
            assert reading.soc == pytest.approx(0.55)
            expected = ChargerStatus.CHARGING if power_kw > 0 else ChargerStatus.DISCHARGING
            assert reading.status is expected
            info = system.connected()[0]
            assert (info.vendor, info.model) == ("ocpp-rpc", "interop")
        finally:
            if process.stdin is not None:
                process.stdin.close()
            try:
                code = await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()
                raise
        assert code == 0

    run_lab(scenario)
