"""How the service logs: plain text (the default) or, with `LOG_FORMAT=json`, one JSON
object per line (python-json-logger's formatter), for uvicorn's loggers and ours alike.

`logging_config` is the `logging.config.dictConfig` document `catalogue serve` hands
uvicorn, which applies it in every worker process. Each request is logged once, by
`app.observability` (uvicorn's own access log is off: it writes the request target,
query string and all, and cursors and filters have no place in a log); its record
carries `request_id`, `method`, `route`, `path`, `status`, `duration_ms` and `client`
as fields of the JSON object. Any other record logged while a request is handled gets
that request's `request_id`.
"""

import logging
import logging.config
from typing import Any

from asgi_correlation_id.context import correlation_id
from pythonjsonlogger.core import RESERVED_ATTRS

from app.settings import Settings

ACCESS_LOGGER = "app.access"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Gives a record the id of the request being handled, unless it names one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = correlation_id.get()
        return True


def logging_config(settings: Settings) -> dict[str, Any]:
    """The whole logging set-up: one handler on standard error, in the chosen format;
    uvicorn's loggers pass their records to it."""
    if settings.log_format == "json":
        formatter: dict[str, Any] = {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["levelname", "name", "message"],
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
            # uvicorn's copy of each message with terminal colours in it.
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        }
    else:
        formatter = {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["default"], "level": settings.log_level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }


def configure_logging(settings: Settings) -> None:
    """Apply `logging_config`, unless logging is set up already (by `catalogue serve`,
    in uvicorn, or by a test runner)."""
    if not logging.getLogger().handlers:
        logging.config.dictConfig(logging_config(settings))
