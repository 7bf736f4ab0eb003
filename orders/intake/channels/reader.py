"""Export files in, ``(row number, CanonOrder | Reject | None)`` out: which platform's export a
header belongs to (detected, or checked against ``--channel``), pairing an order file with its
item file, grouping rows on the order id, and turning each group into a canonical order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from orders.intake.canonical import FEN_CONTEXT, CanonOrder, first_error
from orders.intake.channels.base import AdapterError, ChannelConfig, FileFormatError, FileSpec
from orders.intake.channels.exports import Fields, Mapper, Numbered, group
from orders.intake.files import TableFile, sniff
from orders.intake.importer import Parsed, Reject


@dataclass(frozen=True)
class Match:
    cfg: ChannelConfig
    role: str  # "main" or "items"
    spec: FileSpec
    missing: tuple[str, ...]
    overlap: int  # headers of the file the spec knows

    @property
    def score(self) -> tuple[float, int]:
        n = len(self.spec.required) or 1
        return ((n - len(self.missing)) / n, self.overlap)

    def what(self) -> str:
        return f"{self.cfg.name} ({self.cfg.label}) {self.spec.name}"


def candidates(configs: Mapping[str, ChannelConfig], header: list[str]) -> list[Match]:
    out = []
    have = set(header)
    for cfg in configs.values():
        if cfg.export is None:
            continue
        for role, spec in (("main", cfg.export.main), ("items", cfg.export.items)):
            if spec is not None:
                out.append(Match(cfg, role, spec, tuple(spec.missing(header)), len(have & set(spec.columns))))
    return sorted(out, key=lambda m: m.score, reverse=True)


def identify(configs: Mapping[str, ChannelConfig], header: list[str], channel: str | None) -> Match:
    """The export this header belongs to; FileFormatError naming the closest one and what it lacks."""
    if channel is not None and channel not in configs:
        raise FileFormatError(f"unknown channel {channel!r} (known: {', '.join(sorted(configs))})")
    if channel is not None and configs[channel].export is None:
        raise FileFormatError(f"channel {channel} has no export format configured")
    found = [m for m in candidates(configs, header) if channel is None or m.cfg.name == channel]
    full = [m for m in found if not m.missing]
    if full:
        return full[0]
    if not found:
        raise FileFormatError("no channel has an export format configured")
    best = found[0]
    if channel is not None:
        raise FileFormatError(f"header lacks {', '.join(best.missing)}: not a {best.cfg.name} ({best.cfg.label}) "
                              f"export file? (closest: {best.spec.name})")
    raise FileFormatError(f"unknown export format: closest is {best.what()}, but the header lacks "
                          f"{', '.join(best.missing)}")


@dataclass
class Opened:
    """Sniffed files of one export and what they were recognised as."""

    cfg: ChannelConfig
    main: TableFile
    items: TableFile | None

    def describe(self) -> str:
        assert self.cfg.export is not None
        parts = [f"{self.main.path.name}: {self.main.describe()}, {self.cfg.name} ({self.cfg.label}) "
                 f"{self.cfg.export.main.name}"]
        if self.items is not None and self.cfg.export.items is not None:
            parts.append(f"{self.items.path.name}: {self.items.describe()}, {self.cfg.export.items.name}")
        return "; ".join(parts)


def open_export(configs: Mapping[str, ChannelConfig], paths: list[Path], channel: str | None) -> Opened:
    """Sniff one or two files, identify them, and pair an order file with its item file."""
    if not 1 <= len(paths) <= 2:
        raise FileFormatError("give one export file, or an order file and its item file")
    files = [sniff(p) for p in paths]
    for f in files:
        if f.kind == "jsonl":
            raise FileFormatError(f"{f.path.name} is JSON Lines (the canonical format): import it on its own, "
                                  "without --channel")
    matches = [identify(configs, f.header, channel) for f in files]
    names = {m.cfg.name for m in matches}
    if len(names) > 1:
        raise FileFormatError(f"the files are exports of different channels: {', '.join(m.what() for m in matches)}")
    by_role = {m.role: f for m, f in zip(matches, files, strict=True)}
    cfg = matches[0].cfg
    assert cfg.export is not None
    if len(by_role) < len(files):
        raise FileFormatError(f"both files look like {matches[0].what()}; give the order file and the item file")
    if "main" not in by_role:
        raise FileFormatError(f"{files[0].path.name} is {matches[0].what()}: give it together with its "
                              f"{cfg.export.main.name} file")
    if cfg.export.items is not None and "items" not in by_role:
        raise FileFormatError(f"{cfg.label}'s export comes in two files: give the {cfg.export.items.name} file "
                              f"together with the {cfg.export.main.name} file")
    return Opened(cfg, by_role["main"], by_role.get("items"))


def parse(opened: Opened, labels: Mapping[str, str], tz: ZoneInfo, shop: str) -> Iterator[Parsed]:
    """Each order of the export, in file order; rows that cannot be used come back as Rejects."""
    cfg = opened.cfg
    spec = cfg.export
    assert spec is not None
    mapper = Mapper(cfg, labels, tz, shop)
    bad: list[tuple[int, str, str]] = []
    orders = group(opened.main.rows(), spec.main, labels, bad)
    lines: dict[str, list[Numbered]] = {}
    items_name = ""
    if opened.items is not None and spec.items is not None:
        items_name = spec.items.name
        ibad: list[tuple[int, str, str]] = []
        lines = group(opened.items.rows(), spec.items, labels, ibad)
        bad += [(no, f"{items_name}:{fld}", why) for no, fld, why in ibad]
    for no, fld, why in bad:
        yield no, Reject(no, fld, why)
    for oid, rows in orders.items():
        no, head = rows[0]
        if spec.rows != "item" and len(rows) > 1:
            for dup, _ in rows[1:]:
                yield dup, Reject(dup, Fields(spec.main, labels, head).where("order_id"), f"duplicate of row {no}")
        if opened.items is not None and spec.items is not None:
            item_rows, line_spec = [r for _, r in lines.pop(oid, [])], spec.items
            if not item_rows:
                yield no, Reject(no, Fields(spec.main, labels, head).where("order_id"),
                                 f"no rows for this order in the {items_name} file")
                continue
        else:
            item_rows = [r for _, r in rows] if spec.rows == "item" else [head]
            line_spec = spec.main
        yield no, _validated(cfg, labels, no, partial(mapper.order, head, item_rows, line_spec))
    for oid, rows in lines.items():
        no = rows[0][0]
        yield no, Reject(no, f"{items_name}:订单编号", f"order {oid} is not in the {spec.main.name} file")


def _validated(cfg: ChannelConfig, labels: Mapping[str, str], no: int, build: Any) -> CanonOrder | Reject | None:
    try:
        data = build()
    except AdapterError as e:
        return Reject(no, e.field, e.reason)
    if data is None:
        return None
    try:
        return CanonOrder.model_validate(data, context=FEN_CONTEXT)
    except ValidationError as e:
        fld, reason = first_error(e)
        key = fld.split(".")[-1] if "." in fld else fld
        return Reject(no, _header(cfg, labels, key), reason)


def _header(cfg: ChannelConfig, labels: Mapping[str, str], key: str) -> str:
    if cfg.export:
        for spec in (cfg.export.main, cfg.export.items):
            for header, label in (spec.columns.items() if spec else ()):
                if labels.get(label, label) == key:
                    return header
    return key
