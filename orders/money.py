"""Money as integer fen. Yuan strings in, yuan strings out; never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


class MoneyError(ValueError):
    pass


def yuan_to_fen(value: str | int | Decimal) -> int:
    """'298.5' -> 29850. Accepts str, int or Decimal; rejects floats and more than 2 decimals."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError(f"money must be a decimal string, not {type(value).__name__}")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation as e:
        raise MoneyError(f"not a money amount: {value!r}") from e
    if not d.is_finite():
        raise MoneyError(f"not a money amount: {value!r}")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise MoneyError(f"more than two decimals: {value!r}")
    return int(fen)  # whole fen already (checked above)


def fen_to_yuan(fen: int) -> str:
    """29850 -> '298.5', 35800 -> '358', -430 -> '-4.3'."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    if part == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{part:02d}".rstrip("0")
