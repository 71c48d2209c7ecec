"""Checks of the settings a caller passes to the fraud lab (simulate, train, import), in one place.

A refused setting is one line naming it as the API spells it and as the command line does, so a CLI user
finds the flag: `alert_budget (--alert-budget): -10 is out of range: use a whole number in 1..1,000,000`.
"""

from __future__ import annotations

import datetime as _dt
import numbers
import re

from sandbox.errors import InvalidInput

MAX_SEED = 2**32 - 1
FLAGS = {"feature_set": "--features"}  # where the command-line option is not the setting's name with dashes
API_ONLY = ("rounds",)  # settings the command line does not offer
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def label(name: str) -> str:
    """`train_days (--train-days)`: the setting and its command-line option (none for an API-only one)."""
    return name if name in API_ONLY else f"{name} ({FLAGS.get(name, '--' + name.replace('_', '-'))})"


def _fmt(v: float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def number(name: str, value, lo: float, hi: float, kind=int):
    """`value` as `kind` if it lies in lo..hi (None stays None), else InvalidInput naming the setting."""
    if value is None:
        return None
    whole = kind is int
    allowed = f"use a {'whole ' if whole else ''}number in {_fmt(lo)}..{_fmt(hi)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or (whole and int(value) != value):
        raise InvalidInput(label(name), f"{value!r} is not a {'whole ' if whole else ''}number", allowed)
    if not lo <= value <= hi:  # NaN fails this too
        raise InvalidInput(label(name), f"{value} is out of range", allowed)
    return kind(value)


def choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise InvalidInput(
            label(name), f"{value!r} is not one of {', '.join(allowed)}", f"use one of {', '.join(allowed)}"
        )
    return value


def iso_date(name: str, value) -> str | None:
    """A calendar date written YYYY-MM-DD (None stays None); day-first or month-first dates are refused."""
    if value is None:
        return None
    if isinstance(value, _dt.date):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return _dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidInput(
            label(name),
            f"{value!r} is not a date written YYYY-MM-DD",
            "write it year first, e.g. 2018-07-25 (day and month are never guessed)",
        ) from None
