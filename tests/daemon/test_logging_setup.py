"""Third-party logging goes through structlog (daemon/service/logging_setup.py): with
`format = "json"` stderr holds JSON lines only, whoever logged."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator

import pytest
import structlog

from hullwatch.daemon.service.logging_setup import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
    structlog.reset_defaults()


@pytest.mark.usefixtures("restore_logging")
def test_standard_logging_and_warnings_come_out_as_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("info", "json")
    configure_logging("info", "json")  # a reload: still one line per record
    structlog.get_logger("hullwatch.test").warning("ours", key=1)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("asyncio").error("Exception in callback", exc_info=True)
    logging.getLogger("paho").debug("below the configured level")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a library is unhappy", DeprecationWarning, stacklevel=1)

    lines = capsys.readouterr().err.splitlines()
    documents = [json.loads(line) for line in lines]  # raises on any line that is not JSON
    assert [d["event"] for d in documents][:2] == ["ours", "Exception in callback"]
    assert len(documents) == 3
    callback = documents[1]
    assert (callback["level"], callback["logger"]) == ("error", "asyncio")
    assert "ValueError: boom" in callback["exception"]
    assert "timestamp" in callback
    assert documents[2]["logger"] == "py.warnings"
    assert "a library is unhappy" in documents[2]["event"]
