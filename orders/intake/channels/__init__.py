"""Channel adapters: each platform's API payload and back-office export -> ``CanonOrder``.

``Channels.load(config)`` reads ``config/channels.yaml``; ``adapt(channel, payload, shop)`` maps one
API payload; ``read_export(channel, path)`` maps an export file row by row into the importer's
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
from orders.intake.channels.exports import check_header, header_for, map_row, read_rows
from orders.intake.importer import Parsed, Reject

ApiMapper = Callable[[dict[str, Any], ChannelConfig, ZoneInfo, str], "dict[str, Any] | None"]
API_MAPPERS: dict[str, ApiMapper] = {
    taobao.NAME: taobao.from_api, pdd.NAME: pdd.from_api, douyin.NAME: douyin.from_api, jd.NAME: jd.from_api,
    youzan.NAME: youzan.from_api,
}

__all__ = ["AdapterError", "Channels", "FileFormatError"]


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
        except (KeyError, TypeError, AttributeError) as e:
            raise AdapterError("(payload)", f"unexpected shape: {e!r}") from None
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

    def read_export(self, channel: str, path: Path, shop: str = "") -> Iterator[Parsed]:
        """Rows of an export file. Raises FileFormatError at once for a wrong or broken file."""
        cfg = self.config(channel)
        rows = read_rows(path)
        _, header, _ = next(rows)
        check_header(cfg, header or [])
        return self._rows(cfg, rows, shop)

    def _rows(self, cfg: ChannelConfig, rows: Iterator[tuple[int, Any, dict[str, Any]]], shop: str) -> Iterator[Parsed]:
        seen: dict[str, int] = {}
        for no, _, row in rows:
            try:
                data = map_row(cfg, self.labels, row, self.tz, shop)
            except AdapterError as e:
                yield no, Reject(no, e.field, e.reason)
                continue
            except FileFormatError as e:
                yield no, Reject(no, "(file)", str(e))
                return
            if data is None:
                yield no, None
                continue
            oid = data["order_id"]
            if oid in seen:
                yield no, Reject(no, header_for(cfg, self.labels, "order_id"), f"duplicate of row {seen[oid]}")
                continue
            seen[oid] = no
            try:
                yield no, CanonOrder.model_validate(data, context=FEN_CONTEXT)
            except ValidationError as e:
                fld, reason = first_error(e)
                yield no, Reject(no, header_for(cfg, self.labels, fld.split(".")[-1] if "." in fld else fld), reason)
