"""Config that names a robot, a role or a workflow state that does not exist is refused at start,
with the file and the key (a typo would otherwise silently switch something off, e.g. brushing
alerts to a robot nobody declared).

One exception: a channel status map (channels.yaml ``maps`` / ``export.status``) may name a state
the workflow does not have yet, because states are added at run time by chat (``流程 加状态``; a
mapping prepared ahead of its state, such as Taobao's presale 定金已付 -> 预售定金锁定). Those are
logged at start with file and key, ``流程`` warns about them, and each order mapped there is
rejected with "unknown state" until the state exists."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from config import ConfigDir
from orders.users import RoleBook
from orders.workflow import WorkflowDef

log = logging.getLogger(__name__)
FLAG_VALUES = ("skip", "-", "退款中")
WARN = "warn:"
HOLD = "暂停:"


class ConfigError(ValueError):
    """A config file names something that does not exist: ``file: key: what``."""


def check_config(cfg: ConfigDir, roles: RoleBook, wf: WorkflowDef) -> list[str]:
    """Raises ConfigError listing every problem; returns the warnings (also logged)."""
    found = list(_problems(cfg, set(roles.names), set(wf.all_names), wf))
    problems = [p for p in found if not p.startswith(WARN)]
    if problems:
        raise ConfigError("config refers to things that do not exist:\n  " + "\n  ".join(problems))
    warnings = [p.removeprefix(WARN) for p in found if p.startswith(WARN)]
    for w in warnings:
        log.warning("config: %s (orders mapped there are rejected until the state exists)", w)
    return warnings


def _problems(cfg: ConfigDir, roles: set[str], states: set[str], wf: WorkflowDef) -> Iterator[str]:
    def where(name: str, key: str) -> str:
        return f"{cfg.path(name)}: {key}"

    def role(name: str, key: str, value: Any) -> Iterator[str]:
        if value not in (None, "") and str(value) not in roles:
            yield f"{where(name, key)}: no role {value!r} (roles.yaml has: {', '.join(sorted(roles))})"

    def state(name: str, key: str, value: Any) -> Iterator[str]:
        if value not in (None, "") and str(value) not in states:
            yield f"{where(name, key)}: no workflow state {value!r} (states: {', '.join(wf.all_names)})"

    def many(check: Any, name: str, key: str, values: Iterable[Any] | None) -> Iterator[str]:
        for i, v in enumerate(values or ()):
            yield from check(name, f"{key}[{i}]", v)

    # workflow.yaml (or the version in force): who may move into each state, who is told
    for s in wf.states:
        yield from many(role, "workflow", f"states.{s.name}.roles", s.roles)
        yield from many(role, "workflow", f"states.{s.name}.notify.role", [n.role for n in s.notify if n.role])
        yield from many(state, "workflow", f"states.{s.name}.skip_to", s.skip_to)
    if wf.cancel:
        yield from many(role, "workflow", "cancel.roles", wf.cancel.roles)
        yield from many(role, "workflow", "cancel.notify.role", [n.role for n in wf.cancel.notify if n.role])
    perms = cfg.load("roles").get("permissions") or {}
    for word, allowed in perms.items():
        yield from many(role, "roles", f"permissions.{word}", allowed)

    ch = cfg.load("channels")
    robots = set((cfg.load("robots").get("robots") or {}).keys())
    brushing = ch.get("brushing") or {}
    if brushing.get("enabled", True) and str(brushing.get("robot", "risk")) not in robots:
        yield (f"{where('channels', 'brushing.robot')}: no robot {brushing.get('robot', 'risk')!r} in "
               f"{cfg.path('robots')} (declared: {', '.join(sorted(robots)) or 'none'})")
    yield from role("channels", "carriers.notify_role", (ch.get("carriers") or {}).get("notify_role"))
    channels = ch.get("channels") or {}
    for name, c in channels.items():
        for fld, table in ((c or {}).get("maps") or {}).items():
            for code, value in (table or {}).items():
                yield from _mapped(state, f"channels.{name}.maps.{fld}.{code}", value)
        for text, value in (((c or {}).get("export") or {}).get("status") or {}).items():
            yield from _mapped(state, f"channels.{name}.export.status.{text}", value)
    for i, shop in enumerate(ch.get("shops") or []):
        if (shop or {}).get("channel") not in channels:
            yield f"{where('channels', f'shops[{i}].channel')}: no channel {(shop or {}).get('channel')!r}"

    ap = cfg.load("approvals")
    for key in ("default_lead_role", "manager_role"):
        yield from role("approvals", key, ap.get(key))
    yield from state("approvals", "shipped_from", ap.get("shipped_from"))
    chains: dict[str, Any] = {"steps": ap.get("steps"), "chain": ap.get("chain")}
    chains.update({f"chains.{k}": v for k, v in _items(ap.get("chains"))})
    for name, t in _items(ap.get("types")):
        chains.update({f"types.{name}.chains.{k}": v for k, v in _items((t or {}).get("chains"))})
        yield from state("approvals", f"types.{name}.outcome.state", ((t or {}).get("outcome") or {}).get("state"))
    for key, steps in chains.items():
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict):
                yield from role("approvals", f"{key}[{i}].role", step.get("role"))
                yield from role("approvals", f"{key}[{i}].lead_role", step.get("lead_role"))
    for kind, out in _items(ap.get("outcomes")):
        yield from state("approvals", f"outcomes.{kind}.state", (out or {}).get("state"))

    wh = cfg.load("warehouse")
    for key in ("assign_state", "pick_state", "pack_state"):
        yield from state("warehouse", key, wh.get(key))
    yield from many(state, "warehouse", "assignable_states", wh.get("assignable_states"))
    yield from role("warehouse", "leads_role", wh.get("leads_role"))

    dg = cfg.load("digests")
    yield from state("digests", "packed_state", dg.get("packed_state"))
    for i, d in enumerate(dg.get("digests") or []):
        yield from many(role, "digests", f"digests[{i}].to.roles", ((d or {}).get("to") or {}).get("roles"))


def _items(value: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items()] if isinstance(value, dict) else []


def _mapped(state: Any, key: str, value: Any) -> Iterator[str]:
    """A channel map value: a state, a flag (退款中, 暂停:…), skip or -, or a list of those."""
    for v in value if isinstance(value, list) else [value]:
        v = str(v)
        if v in FLAG_VALUES or v.startswith(HOLD):
            continue
        for problem in state("channels", key, v):
            yield WARN + problem
