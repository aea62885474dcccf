"""Following a ticket's printing on the kiosk's screen, a part of `KioskModel` (kiosk/model.py): the
printer's results (`print/{printer}/results`), which may arrive before the hub's reply, and the longer
screen time when paper did not come (time to photograph the number)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model_state import RECENT_PRINT_RESULTS, PrintState


class PrintFollower:
    """Mixed into `KioskModel`, whose `ticket`, `settings`, `clock` and `_print_results` it uses."""

    ticket: Any
    settings: Any
    language: str
    clock: Any
    _print_results: Any

    def print_result(self, payload: Mapping[str, Any]) -> None:
        """A `print/{printer}/results` message; only the result for the ticket on screen matters."""
        job_id = payload.get("job_id")
        if not isinstance(job_id, str):
            return
        # The printer may answer before the hub's reply reaches us: keep recent results for a moment.
        self._print_results[job_id] = payload
        while len(self._print_results) > RECENT_PRINT_RESULTS:
            self._print_results.popitem(last=False)
        if self.ticket is not None and job_id == self._job_id(self.ticket.data):
            self._apply_print(payload)

    @staticmethod
    def _job_id(ticket: Mapping[str, Any]) -> str:
        return f"ticket-{ticket.get('id')}"

    def _apply_print(self, payload: Mapping[str, Any]) -> None:
        assert self.ticket is not None
        status = payload.get("status")
        now = self.clock()
        if status == "printed":
            self.ticket.print_state = "printed"
            self.ticket.print_deadline = None
        elif status in ("failed", "expired"):
            error = payload.get("error")
            if isinstance(error, Mapping):
                key = "message" if self.language == "vi" else "message_en"
                self.ticket.print_error = str(error.get(key) or error.get("message") or "")
            self._printing_failed("failed", now)

    def _printing_failed(self, state: PrintState, now: float) -> None:
        assert self.ticket is not None
        self.ticket.print_state = state
        self.ticket.print_deadline = None
        # Time to take a photograph of the number and the QR code.
        self.ticket.closes_at = max(self.ticket.closes_at, now + self._no_print_s())

    def _no_print_s(self) -> float:
        slower: float = self._slower()  # type: ignore[attr-defined]
        return float(self.settings.ticket_screen_no_print_s) * slower
