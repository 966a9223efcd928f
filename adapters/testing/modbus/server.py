"""pymodbus 3.16's TCP server, made to answer as a Modbus device must.

Two defects of the stock server (seen by the issue-15 audit) are fixed here:

- Pipelined requests (several frames in one TCP segment, or a frame arriving while the previous
  one is being served) got no reply: the server parses one frame per `data_received`, keeps one
  `last_pdu` that the next frame overwrites before it is served, and `send()` throws away the
  bytes buffered behind it. Here every complete frame is queued and answered, in order.
- Write Single Coil (FC 5) takes any value other than 0x0000 as ON; the spec allows only
  0x0000 and 0xFF00 and asks for exception 03 (illegal data value) otherwise.

A frame the decoder cannot read is answered with exception 01 under its own function code and
the stream goes on with the next frame (the stock server dropped the rest of the buffer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusIOException, NoSuchIdException
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.bit_message import WriteSingleCoilRequest
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.transaction import TransactionManager

log = logging.getLogger(__name__)

_MBAP_BYTES = 6  # transaction id, protocol id, length (the unit id is counted in length)
_QUEUE_PAUSE = 64  # frames waiting before the connection stops reading (back-pressure)


class StrictWriteSingleCoilRequest(WriteSingleCoilRequest):
    """FC 5 that refuses coil values other than 0x0000 (OFF) and 0xFF00 (ON)."""

    raw_value: int = 0

    def decode(self, data: bytes) -> None:
        self.address, self.raw_value = struct.unpack(">HH", data[:4])
        self.bits = [self.raw_value == 0xFF00]

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        if self.raw_value not in (0x0000, 0xFF00):
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE)
        return await super().datastore_update(context, device_id)


class _PipelinedHandler(ServerRequestHandler):
    """One client connection: every complete frame queued, served and answered in order."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._frames: asyncio.Queue[tuple[ModbusPDU, tuple | None]] = asyncio.Queue()
        self._worker: asyncio.Task | None = None
        self._paused = False

    def callback_data(self, data: bytes, addr: tuple | None = None) -> int:
        used = 0
        while used < len(data):
            rest = data[used:]
            try:
                cut = TransactionManager.callback_data(self, rest, addr)
            except ModbusIOException as exc:
                cut = _frame_length(rest)
                function_code = rest[7] if len(rest) > 7 else 0
                response = ExceptionResponse(function_code & 0x7F, ExcCodes.ILLEGAL_FUNCTION)
                response.transaction_id = exc.transaction_id
                response.dev_id = exc.dev_id
                self._enqueue(response, addr)
                if cut is None:
                    return len(data)
            else:
                request = self.last_pdu
                if isinstance(request, ExceptionResponse):  # a "request" with code >= 0x80
                    refusal = ExceptionResponse(
                        request.function_code & 0x7F, ExcCodes.ILLEGAL_FUNCTION
                    )
                    refusal.transaction_id = request.transaction_id
                    refusal.dev_id = request.dev_id
                    request = refusal
                if request is not None:
                    self._enqueue(request, addr)
            if not cut:
                break  # an incomplete frame: wait for the rest
            used += cut
        self.last_pdu = None
        return used

    def _enqueue(self, pdu: ModbusPDU, addr: tuple | None) -> None:
        self._frames.put_nowait((pdu, addr))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._serve())
        if self._frames.qsize() >= _QUEUE_PAUSE and self.transport is not None:
            self.transport.pause_reading()  # type: ignore[attr-defined]
            self._paused = True

    async def _serve(self) -> None:
        while not self._frames.empty():
            pdu, addr = self._frames.get_nowait()
            if isinstance(pdu, ExceptionResponse):
                self.server_send(pdu, addr)
            else:
                await self._answer(pdu, addr)
            if self._paused and self._frames.qsize() < _QUEUE_PAUSE // 2:
                self._paused = False
                if self.transport is not None:
                    self.transport.resume_reading()  # type: ignore[attr-defined]

    async def _answer(self, request: ModbusPDU, addr: tuple | None) -> None:
        """The stock `handle_request` on `request` itself (it read `self.last_pdu` after an
        await, by then the next frame's)."""
        try:
            response = await request.datastore_update(self.server.context, request.dev_id)
        except NoSuchIdException:
            response = ExceptionResponse(request.function_code, ExcCodes.GATEWAY_NO_RESPONSE)
        except Exception as exc:  # noqa: BLE001 - a device answers, it does not crash
            log.warning("request %s failed: %r", request.function_code, exc)
            response = ExceptionResponse(request.function_code, ExcCodes.DEVICE_FAILURE)
        response.transaction_id = request.transaction_id
        response.dev_id = request.dev_id
        self.server_send(response, addr)

    def send(self, data: bytes, addr: tuple | None = None) -> None:
        # The stock send() empties the receive buffer: keep the frames queued behind.
        pending = self.recv_buffer
        super().send(data, addr)
        self.recv_buffer = pending

    def callback_disconnected(self, exc: Exception | None) -> None:
        if self._worker is not None:
            self._worker.cancel()
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                self._frames.get_nowait()
        super().callback_disconnected(exc)


def _frame_length(data: bytes) -> int | None:
    """Bytes of the MBAP frame at the start of `data` (None if the header is incomplete)."""
    if len(data) < _MBAP_BYTES:
        return None
    return _MBAP_BYTES + struct.unpack(">H", data[4:6])[0]


class EmulatorTcpServer(ModbusTcpServer):
    """`ModbusTcpServer` with pipelining and the strict FC 5 (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("custom_pdu", [StrictWriteSingleCoilRequest])
        super().__init__(*args, **kwargs)

    def callback_new_connection(self) -> _PipelinedHandler:
        return _PipelinedHandler(self, self.trace_packet, self.trace_pdu, self.trace_connect)
