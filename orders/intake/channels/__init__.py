"""Channel adapters: each platform's API payload and back-office export -> ``CanonOrder``.

``Channels.load(config)`` reads ``config/channels.yaml``; ``adapt(channel, payload, shop)`` maps one
API payload; ``open_export(paths, channel)`` sniffs and identifies export files (the channel is
detected from the headers when not given) and ``parse(opened)`` maps them into the importer's
``(row number, CanonOrder | Reject | None)`` stream (None = skipped on purpose, e.g. unpaid)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from config import ConfigDir
from orders.intake.canonical import FEN_CONTEXT, CanonOrder, first_error
from orders.intake.channels import douyin, jd, pdd, taobao, youzan
from orders.intake.channels.base import AdapterError, ChannelConfig, FileFormatError
from orders.intake.channels.reader import Opened, open_export, parse
from orders.intake.importer import Parsed, Reject

ApiMapper = Callable[[dict[str, Any], ChannelConfig, ZoneInfo, str], "dict[str, Any] | None"]
API_MAPPERS: dict[str, ApiMapper] = {
    taobao.NAME: taobao.from_api, pdd.NAME: pdd.from_api, douyin.NAME: douyin.from_api, jd.NAME: jd.from_api,
    youzan.NAME: youzan.from_api,
}

__all__ = ["AdapterError", "Channels", "FileFormatError", "Opened"]


class Channels:
    def __init__(self, data: dict[str, Any], tz: str) -> None:
        self.tz = ZoneInfo(tz)
        self.labels: dict[str, str] = {str(k): str(v) for k, v in (data.get("fields") or {}).items()}
        self.configs = {str(n): ChannelConfig.from_dict(str(n), c or {})
                        for n, c in (data.get("channels") or {}).items()}
        self.raw = data

    @classmethod
    def load(cls, config: ConfigDir, tz: str) -> Channels:
        return cls(config.load("channels"), tz)

    def config(self, channel: str) -> ChannelConfig:
        cfg = self.configs.get(channel)
        if cfg is None:
            raise FileFormatError(f"unknown channel {channel!r} (known: {', '.join(sorted(self.configs))})")
        return cfg

    def adapt(self, channel: str, payload: dict[str, Any], shop: str = "") -> CanonOrder | None:
        """One API payload -> CanonOrder (None: not taken in, e.g. unpaid). Raises AdapterError."""
        mapper = API_MAPPERS.get(channel)
        if mapper is None:
            raise AdapterError("channel", f"channel {channel!r} has no API adapter")
        if not isinstance(payload, dict):
            raise AdapterError("(payload)", "an order must be a JSON object")
        try:
            data = mapper(payload, self.config(channel), self.tz, shop)
        except (KeyError, TypeError, AttributeError, OverflowError, OSError) as e:
            raise AdapterError("(payload)", f"unexpected shape: {e!r}") from None
        except ValueError as e:  # e.g. a date the calendar cannot hold
            if isinstance(e, AdapterError):
                raise
            raise AdapterError("(payload)", f"bad value: {e}") from None
        if data is None:
            return None
        try:
            return CanonOrder.model_validate(data, context=FEN_CONTEXT)
        except ValidationError as e:
            raise AdapterError(*first_error(e)) from None

    def parse_payloads(self, channel: str, payloads: list[dict[str, Any]], shop: str = "") -> Iterator[Parsed]:
        for no, p in enumerate(payloads, 1):
            try:
                yield no, self.adapt(channel, p, shop)
            except AdapterError as e:
                yield no, Reject(no, e.field, e.reason)

    def open_export(self, paths: list[Path], channel: str | None = None) -> Opened:
        """Sniff and identify export files. Raises FileFormatError (an UnusableFile) at once."""
        return open_export(self.configs, paths, channel)

    def parse(self, opened: Opened, shop: str = "") -> Iterator[Parsed]:
        return parse(opened, self.labels, self.tz, shop)

    def read_export(self, channel: str | None, path: Path | list[Path], shop: str = "") -> Iterator[Parsed]:
        """Rows of an export file (or an order file and its item file). Raises FileFormatError at
        once for a wrong or broken file."""
        return self.parse(self.open_export(path if isinstance(path, list) else [path], channel), shop)
