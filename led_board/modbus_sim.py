"""A Modbus RTU slave standing in for an LED module, on a pseudo-terminal pair.

The driver opens `simulator.port` (the pty's slave side, /dev/pts/N) exactly as it would open
/dev/ttyUSB0; the simulator answers on the master side with pymodbus's own RTU framer and PDUs and
records every register written. Tests, the benchmark and a technician without a module use it.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from collections.abc import Callable

from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse,
    WriteSingleRegisterRequest,
    WriteSingleRegisterResponse,
)

ILLEGAL_FUNCTION = 1


class ModbusSlaveSimulator:
    def __init__(self, unit: int = 1) -> None:
        self.unit = unit
        self.registers: dict[int, int] = {}
        self.writes: list[tuple[int, int, list[int]]] = []  # (function code, address, values)
        self.silent = False  # True: behave like a module with its cable pulled
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: bytes pass as they are
        self.port = os.ttyname(self._slave)
        self._framer = FramerRTU(DecodePDU(True))
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modbus-sim", daemon=True)

    def start(self) -> ModbusSlaveSimulator:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> ModbusSlaveSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def read(self, address: int, count: int) -> list[int]:
        with self._changed:
            return [self.registers.get(address + i, 0) for i in range(count)]

    def wait_for(self, predicate: Callable[[ModbusSlaveSimulator], bool], timeout: float = 5.0) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise AssertionError(f"Modbus simulator: condition not met; writes: {self.writes[-5:]}")

    # ------------------------------------------------------------------ serving
    def _run(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.1)
            if not ready:
                buffer = b""  # an RTU frame never pauses this long: drop a partial one
                continue
            try:
                buffer += os.read(self._master, 512)
            except OSError:
                return
            used, pdu = self._framer.handleFrame(buffer, 0, 0)
            buffer = buffer[used:]
            if pdu is None or pdu.dev_id != self.unit or self.silent:
                continue
            reply = self._handle(pdu)
            reply.dev_id, reply.transaction_id = pdu.dev_id, pdu.transaction_id
            with contextlib.suppress(OSError):
                os.write(self._master, self._framer.buildFrame(reply))

    def _handle(self, pdu: ModbusPDU) -> ModbusPDU:
        with self._changed:
            if isinstance(pdu, WriteMultipleRegistersRequest):
                self._store(16, pdu.address, list(pdu.registers))
                return WriteMultipleRegistersResponse(address=pdu.address, count=len(pdu.registers))
            if isinstance(pdu, WriteSingleRegisterRequest):
                self._store(6, pdu.address, list(pdu.registers))
                return WriteSingleRegisterResponse(address=pdu.address, registers=list(pdu.registers))
            if isinstance(pdu, ReadHoldingRegistersRequest):
                values = [self.registers.get(pdu.address + i, 0) for i in range(pdu.count)]
                return ReadHoldingRegistersResponse(registers=values)
        return ExceptionResponse(pdu.function_code, ILLEGAL_FUNCTION)

    def _store(self, function: int, address: int, values: list[int]) -> None:
        for offset, value in enumerate(values):
            self.registers[address + offset] = value
        self.writes.append((function, address, values))
        self._changed.notify_all()
