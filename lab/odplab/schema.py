# Copyright 2026 The ibodp Authors
# SPDX-License-Identifier: Apache-2.0
"""perftest's report schema (perftest/report.schema.json), the one
description of the format that the C++ writer's golden file and this
reader are both held to."""

import functools
import json

from .common import PROJECT_ROOT, LabError

SCHEMA_PATH = PROJECT_ROOT / "perftest" / "report.schema.json"


@functools.lru_cache(maxsize=1)
def _validator():
    # Imported here so that odplab's commands that read no report need no
    # python3-jsonschema.
    import jsonschema  # pylint: disable=import-outside-toplevel
    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_version():
    return json.loads(SCHEMA_PATH.read_text())["properties"][
        "schema_version"]["const"]


def report_errors(data, limit=5):
    """The first `limit` places where `data` breaks the schema, each as
    'results[0].scenario.pages: -1 is less than the minimum of 0'."""
    errors = sorted(_validator().iter_errors(data),
                    key=lambda e: list(e.absolute_path))
    out = []
    for e in errors[:limit]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                        for p in e.absolute_path).lstrip(".") or "(top)"
        out.append(f"{where}: {e.message}")
    return out


def check_report(data, path):
    """Raises LabError naming the file and the first mismatches."""
    errors = report_errors(data)
    if errors:
        raise LabError(f"{path}: not a perftest report of schema "
                       f"{SCHEMA_PATH.name}: " + "; ".join(errors))
