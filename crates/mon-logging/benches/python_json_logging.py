"""The seeds' own stack for the json_event bench: Python logging with a JSON formatter
(the production_logger of seed 004: a contextvar call_id, extra fields, an RFC 3339 UTC
timestamp), writing to a sink. Prints ns per event.

python3 crates/mon-logging/benches/python_json_logging.py
"""
import contextvars
import datetime
import io
import json
import logging
import time

call_id_var = contextvars.ContextVar("call_id", default=None)


class NullStream(io.TextIOBase):
    def write(self, s):
        return len(s)


class JsonFormatter(logging.Formatter):
    RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message"}

    def format(self, record):
        entry = {
            "timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "function": record.funcName,
            "line": record.lineno,
            "message": record.getMessage(),
            "app": "voice-agent",
            "environment": "production",
        }
        call_id = call_id_var.get()
        if call_id:
            entry["call_id"] = call_id
        fields = {k: v for k, v in record.__dict__.items() if k not in self.RESERVED}
        if fields:
            entry["fields"] = fields
        return json.dumps(entry)


def main():
    logger = logging.getLogger("bench")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.StreamHandler(NullStream())
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    call_id_var.set("ast-123-456")
    extra = {"caller": "+1234567890", "room": "sip-call-42", "latency_ms": 42, "success": True, "mos": 4.2}
    n = 200_000
    best = None
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(n):
            logger.info("call connected", extra=extra)
        per = (time.perf_counter_ns() - start) / n
        best = per if best is None else min(best, per)
    print(f"python_logging_json: {best:.0f} ns/event (best of 5 x {n})")


if __name__ == "__main__":
    main()
