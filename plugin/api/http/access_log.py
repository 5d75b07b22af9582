"""gunicorn's access log for ``serve``, made cheap: the same lines in the default (Apache combined) format, built
from the nine fields that format uses instead of gunicorn's dictionary of every request and response header
(about a tenth of a status read's CPU), and written straight to gunicorn's own stream or file handler when the
access logger is configured the way gunicorn sets it up (what ``logging`` would write, without a LogRecord per
request: a fifth of the CPU of a trivial request). Any other ``access_log_format``, and any other logging set-up
(another handler, a filter, propagation), is logged by gunicorn's and ``logging``'s own code. Either way, tokens in
URLs are redacted first (plugin/api/http/log_redaction.py)."""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from gunicorn.glogging import Logger

from plugin.api.http.log_redaction import redact_uri, redacted_environ

_PLAIN_HANDLERS = (logging.StreamHandler, logging.FileHandler)
COMBINED = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'


class AccessLogger(Logger):
    """gunicorn's Logger with a fast path for the default access log format."""

    _stamp: tuple[int, str] = (0, "")

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Log one request (see ``gunicorn.glogging.Logger.access``)."""
        if not self.access_log_enabled:
            return
        if self.cfg.access_log_format != COMBINED:
            super().access(resp, req, redacted_environ(environ), request_time)
            return
        status = resp.status
        sent = getattr(resp, "sent", None)
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"), "l": "-", "u": self._get_user(environ) or "-", "t": self.now(),
            "r": f"{environ['REQUEST_METHOD']} {redact_uri(environ['RAW_URI'])} {environ['SERVER_PROTOCOL']}",
            "s": status.split(None, 1)[0] if isinstance(status, str) else status,
            "b": str(sent) if sent is not None else "-",
            "f": redact_uri(environ.get("HTTP_REFERER", "-")), "a": environ.get("HTTP_USER_AGENT", "-"),
        }
        safe = {k: v.replace('"', '\\"') if isinstance(v, str) else v for k, v in atoms.items()}
        try:
            if self._plain_handlers():
                line = COMBINED % safe
                for handler in self.access_log.handlers:
                    handler.acquire()
                    try:
                        handler.stream.write(line + handler.terminator)  # type: ignore[attr-defined]
                        handler.flush()
                    finally:
                        handler.release()
            else:
                self.access_log.info(COMBINED, safe)
        except Exception:
            self.error(traceback.format_exc())

    def _plain_handlers(self) -> bool:
        """Whether ``logging`` would only write each message as it is to the access logger's own stream or file
        handlers (gunicorn's set-up): nothing that a LogRecord is needed for."""
        log = self.access_log
        if log.propagate or log.filters or not log.handlers or not log.isEnabledFor(logging.INFO):
            return False
        return all(type(h) in _PLAIN_HANDLERS and not h.filters and h.level <= logging.INFO
                   and type(h.formatter) is logging.Formatter and h.formatter._fmt == "%(message)s"
                   and getattr(h, "stream", None) is not None for h in log.handlers)

    def now(self) -> str:
        """The time in Apache's format, formatted once per second."""
        second = int(time.time())
        stamp = self._stamp
        if stamp[0] != second:
            stamp = self._stamp = (second, time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(second)))
        return stamp[1]
