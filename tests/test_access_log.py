"""The API's access log (``serve``): the same lines gunicorn's own logger writes, built without its atoms."""

from __future__ import annotations

import datetime
import logging

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from plugin.api.http.access_log import AccessLogger


class Response:
    status = "200 OK"
    sent = 1234
    headers = [("Content-Type", "application/json"), ("ETag", '"abc"')]


class Request:
    headers = [("HOST", "127.0.0.1"), ("USER-AGENT", 'panel "v1"')]


def environ(**extra: str) -> dict[str, str]:
    return {"REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "GET", "RAW_URI": "/api/v1/runs/r-1?x=1",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": 'panel "v1"', "PATH_INFO": "/api/v1/runs/r-1",
            "QUERY_STRING": "x=1", **extra}


def line_of(logger_class: type[Logger], cfg: Config, env: dict[str, str], caplog) -> str:
    logger = logger_class(cfg)
    logger.now = lambda: "[26/Nov/2026:22:30:00 +0000]"  # the same second for both
    logger.access_log.propagate = True
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.access(Response(), Request(), env, datetime.timedelta(milliseconds=3))
    return caplog.records[-1].getMessage()


@pytest.mark.parametrize("env", [environ(), environ(HTTP_REFERER="https://host.example/app",
                                                    HTTP_AUTHORIZATION="Basic YW5uOnNlY3JldA==")])
def test_the_fast_lines_are_gunicorns_lines(env, caplog, monkeypatch):
    cfg = Config()
    cfg.set("accesslog", "-")
    theirs = line_of(Logger, cfg, env, caplog)

    def every_header(*args: object) -> dict:
        raise AssertionError("the default format was built from gunicorn's atoms")
    monkeypatch.setattr(AccessLogger, "atoms", every_header)
    ours = line_of(AccessLogger, cfg, env, caplog)
    assert ours == theirs and '"GET /api/v1/runs/r-1?x=1 HTTP/1.1" 200 1234' in ours


def test_another_format_is_left_to_gunicorn(caplog):
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", '%(h)s %({etag}o)s %(M)s')
    assert line_of(AccessLogger, cfg, environ(), caplog) == '10.0.0.7 \\"abc\\" 3'  # gunicorn escapes quotes


def written_line(logger_class: type[Logger], path, env: dict[str, str]) -> str:
    cfg = Config()
    cfg.set("accesslog", str(path))
    logger = logger_class(cfg)
    logger.now = lambda: "[26/Nov/2026:22:30:00 +0000]"
    logger.access(Response(), Request(), env, datetime.timedelta(milliseconds=3))
    for handler in logger.access_log.handlers:
        handler.close()
    return path.read_text()


def test_the_fast_lines_are_written_as_gunicorns_handler_writes_them(tmp_path, monkeypatch):
    env = environ(HTTP_REFERER="https://host.example/app")
    theirs = written_line(Logger, tmp_path / "theirs.log", env)

    def no_record(*args: object, **kwargs: object) -> None:
        raise AssertionError("a LogRecord was made for the default format")
    monkeypatch.setattr(logging.Logger, "_log", no_record)
    ours = written_line(AccessLogger, tmp_path / "ours.log", env)
    assert ours == theirs and ours.endswith('" 200 1234 "https://host.example/app" "panel \\"v1\\""\n')


@pytest.mark.parametrize("uri, shown", [
    ("/hooks/submit_expense/wh_s3cr3tT0ken", "/hooks/submit_expense/[redacted]"),
    ("/hooks/submit_expense/wh_s3cr3tT0ken?wait=5", "/hooks/submit_expense/[redacted]?wait=5"),
    ("/approve/eyJsink.s3cr3tT0ken", "/approve/[redacted]"),
    ("/api/v1/events?token=s3cr3tT0ken&last=1", "/api/v1/events?token=[redacted]&last=1"),
    ("/api/v1/runs?limit=5", "/api/v1/runs?limit=5"),
])
@pytest.mark.parametrize("fmt", [None, '%(r)s %(U)s?%(q)s "%(f)s"'], ids=["default", "custom"])
def test_tokens_in_urls_never_reach_the_access_log(uri, shown, fmt, caplog):
    path, _, query = uri.partition("?")
    cfg = Config()
    cfg.set("accesslog", "-")
    if fmt:
        cfg.set("access_log_format", fmt)
    line = line_of(AccessLogger, cfg, environ(RAW_URI=uri, PATH_INFO=path, QUERY_STRING=query,
                                              HTTP_REFERER=f"https://workflows.example.com{uri}"), caplog)
    assert "s3cr3tT0ken" not in line and shown in line, line
