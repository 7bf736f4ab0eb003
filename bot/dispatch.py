"""Routing an Incoming to a handler: command word, card button, pending conversation or
message kind. Checks that the user exists and that their role may run the command."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.intent import is_greeting, order_key
from bot.types import Incoming, Reply
from orders.app import App, AppKey
from orders.choices import offer_choice
from orders.errors import AmbiguousOrder, DomainError
from orders.models import User
from orders.outbox import enqueue_text
from orders.privacy import mask_echo, redact
from orders.service import Actor
from orders.textnorm import normalize_text
from orders.usage import count_command, top_commands
from orders.users import users_with_role
from orders.versions import UserCache

log = logging.getLogger(__name__)
USER_CACHE: AppKey[UserCache] = AppKey("user_cache", UserCache)
MAX_INPUT = 500
ORDER_TOKEN = re.compile(r"^[A-Za-z0-9#-]+$")

SOURCE_BY_KIND = {"text": "chat", "voice": "voice", "image": "chat", "event": "button", "card_action": "button",
                  "scan": "button"}


@dataclass
class Request:
    """What a handler gets: the app, the calling user and the raw incoming message."""

    app: App
    user: User
    incoming: Incoming
    dispatcher: Dispatcher | None = None  # set by the dispatcher: a hook may run a command through it

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user.user_id, name=self.user.name, roles=tuple(self.user.roles),
                     source=SOURCE_BY_KIND.get(self.incoming.kind, "chat"))


CommandFunc = Callable[[Request, str], Awaitable[list[Reply]]]
KindFunc = Callable[[Request], Awaitable[list[Reply]]]
ConversationFunc = Callable[[Request], Awaitable[list[Reply] | None]]
V = TypeVar("V")


@dataclass(frozen=True)
class Command:
    name: str
    func: CommandFunc
    roles: tuple[str, ...]
    summary: str
    example: str
    aliases: tuple[str, ...] = ()


@dataclass
class Registry:
    """Static registration of handlers (filled when ``handlers`` is imported)."""

    commands: dict[str, Command] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)  # word/alias -> command name
    buttons: dict[str, CommandFunc] = field(default_factory=dict)  # button key prefix -> func(req, key)
    kinds: dict[str, KindFunc] = field(default_factory=dict)  # "voice", "image", "event:enter_agent", ...
    conversations: list[ConversationFunc] = field(default_factory=list)

    def command(
        self, name: str, *, roles: tuple[str, ...], summary: str, example: str, aliases: tuple[str, ...] = ()
    ) -> Callable[[CommandFunc], CommandFunc]:
        def deco(func: CommandFunc) -> CommandFunc:
            cmd = Command(name, func, roles, summary, example, aliases)
            _check(self.commands, name, cmd, f"command {name!r}")
            for w in (name, *aliases):
                _check(self.words, w, name, f"command word {w!r}")
            self.commands[name] = cmd
            self.words.update((w, name) for w in (name, *aliases))
            return func

        return deco

    def button(self, prefix: str) -> Callable[[CommandFunc], CommandFunc]:
        def deco(func: CommandFunc) -> CommandFunc:
            _check(self.buttons, prefix, func, f"button prefix {prefix!r}")
            self.buttons[prefix] = func
            return func

        return deco

    def kind(self, kind: str) -> Callable[[KindFunc], KindFunc]:
        def deco(func: KindFunc) -> KindFunc:
            _check(self.kinds, kind, func, f"message kind {kind!r}")
            self.kinds[kind] = func
            return func

        return deco

    def split_command(self, text: str) -> tuple[str, str] | None:
        """(command name, args) when ``text`` is a command: "查 8812", or "查8812" without the
        space; None otherwise. Conversation hooks use it to let commands through."""
        text = text.strip()
        word, _, args = text.partition(" ")
        name = self.words.get(word)
        if name is not None:
            return name, args.strip()
        w = max((w for w in self.words if word.startswith(w)), key=len, default=None)
        if w is not None and ORDER_TOKEN.match(word[len(w):]):
            return self.words[w], text[len(w):].strip()
        return None

    def conversation(self, func: ConversationFunc) -> ConversationFunc:
        """A hook asked first for every message; returns None when it does not take the message."""
        self.conversations.append(func)
        return func


def _check(table: dict[str, V], key: str, value: V, what: str) -> None:
    """Two different handlers for one key is a wiring bug, not a silent override."""
    old = table.get(key)
    if old is not None and old != value:
        raise ValueError(f"{what} is registered twice")


def allowed_roles(app: App, cmd: Command) -> tuple[str, ...]:
    return app.roles.permissions.get(cmd.name, cmd.roles)


def may_run(app: App, user: User, cmd: Command) -> bool:
    return "admin" in user.roles or bool(set(user.roles) & set(allowed_roles(app, cmd)))


UNKNOWN_USER = "您好，您还没有开通 orderbot。请把您的企业微信账号「{uid}」发给管理员，开通后即可使用。"
CRASHED = "抱歉，处理这条消息时出错了，已记录，请稍后再试或联系管理员。发送「帮助」查看可用命令。"
GREETING_FALLBACK = ("查", "任务", "售后", "运单", "日报", "帮助")
UNKNOWN_ALERT = ("⚠️ 未开通的企业微信账号「{uid}」在 {at} 给 orderbot 发了消息。"
                 "如需开通：orderbot users add {uid} --name 姓名 --role 角色")


class Dispatcher:
    def __init__(self, app: App, registry: Registry) -> None:
        self.app = app
        self.registry = registry
        self.users = app.cached(USER_CACHE, UserCache)  # checked against orders.versions

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Process one message; never raises: a user mistake is a reply, anything else is logged
        (personal data masked) and answered with an apology."""
        try:
            replies = await self._handle(incoming)
            if incoming.kind == "text":
                typed = normalize_text(incoming.text)
                replies = [dataclasses.replace(r, text=mask_echo(r.text, typed), markdown=mask_echo(r.markdown, typed))
                           for r in replies]
            return replies
        except Exception as e:
            tb = "".join(traceback.format_exception(e))
            log.error("message from %s (kind=%s) crashed: %s", redact(incoming.user_id[:64]), incoming.kind, redact(tb))
            return [Reply(text=CRASHED)]

    async def _handle(self, incoming: Incoming) -> list[Reply]:
        if incoming.kind == "text":  # every command and conversation step sees normalised text
            incoming = dataclasses.replace(incoming, text=normalize_text(incoming.text))
        elif incoming.scan_result:
            incoming = dataclasses.replace(incoming, scan_result=normalize_text(incoming.scan_result))
        user = await self.users.get(self.app.db, incoming.user_id)
        if user is None:
            return await self._unknown_user(incoming.user_id, incoming.kind, incoming.transport)
        req = Request(self.app, user, incoming, self)
        try:
            return await self._route(req)
        except DomainError as e:
            log.info("refused for %s: %s", user.user_id, redact(str(e)).splitlines()[0])
            return [Reply(text=str(e))]

    async def refuse_unknown(self, user_id: str, kind: str, transport: str) -> list[Reply] | None:
        """The "ask an admin" answer when ``user_id`` is not a user (for messages a transport
        cannot turn into an Incoming, e.g. a video); None for a known user."""
        if await self.users.get(self.app.db, user_id) is not None:
            return None
        return await self._unknown_user(user_id, kind, transport)

    async def _unknown_user(self, user_id: str, kind: str, transport: str) -> list[Reply]:
        log.warning("message from unknown user %s (kind=%s)", user_id, kind)
        if transport == "wecom":  # a real account knocking: the admins hear once a day
            await self._alert_admins(user_id)
        return [Reply(text=UNKNOWN_USER.format(uid=user_id))]

    async def _alert_admins(self, uid: str) -> None:
        now = self.app.clock.now()
        local = now.astimezone(ZoneInfo(self.app.settings.tz))
        async with self.app.db.session() as s:
            admins = [u.user_id for u in await users_with_role(s, "admin")]
            await enqueue_text(s, admins, UNKNOWN_ALERT.format(uid=uid[:64], at=local.strftime("%m-%d %H:%M")), now,
                               dedupe_key=f"unknown-user:{uid[:120]}:{local.date().isoformat()}")

    async def _route(self, req: Request) -> list[Reply]:
        inc = req.incoming
        for conv in self.registry.conversations:
            out = await conv(req)
            if out is not None:
                return out
        if inc.kind == "text":
            return await self._text(req, inc.text)
        if inc.kind == "card_action" or (inc.kind == "event" and inc.event == "template_card_event"):
            return await self._button(req)
        key = inc.kind if inc.kind != "event" else f"event:{inc.event}"
        func = self.registry.kinds.get(key) or self.registry.kinds.get(f"{key}:{inc.event_key}")
        if func is None:
            log.info("no handler for %s from %s", key, req.user.user_id)
            if inc.kind == "event":
                return []
            return [Reply(text="暂不支持这种消息，发送「帮助」查看可用命令。")]
        return await func(req)

    async def _button(self, req: Request) -> list[Reply]:
        key = req.incoming.event_key
        for prefix, func in self.registry.buttons.items():
            if key.startswith(prefix):
                return await func(req, key)
        log.warning("unknown button key %r from %s", key, req.user.user_id)
        return [Reply(text="这个按钮已失效，请重新打开任务。")]

    async def _text(self, req: Request, text: str) -> list[Reply]:
        text = text.strip()
        if not text:
            return [Reply(text="请输入命令，发送「帮助」查看可用命令。")]
        if len(text) > MAX_INPUT:
            log.info("over-long message (%d chars) from %s", len(text), req.user.user_id)
            return [Reply(text=f"消息太长（{len(text)}字），请控制在{MAX_INPUT}字以内。")]
        found = self.registry.split_command(text)
        if found is None:
            key = order_key(text)
            if key is not None and "查" in self.registry.commands:
                found = ("查", key)
            elif is_greeting(text):
                return [await self._greet(req)]
            else:
                return [self._unknown(req, text.partition(" ")[0])]
        name, args = found
        return await self.run_command(req, name, args)

    async def run_command(self, req: Request, name: str, args: str) -> list[Reply]:
        """Role check, then the command; several matching orders become a list to choose from."""
        cmd = self.registry.commands[name]
        if not may_run(self.app, req.user, cmd):
            roles = self.app.roles.labels(list(allowed_roles(self.app, cmd))) or ["管理员"]
            log.info("user %s (%s) may not run %s", req.user.user_id, ",".join(req.user.roles), name)
            return [Reply(text=f"您的角色不能使用「{name}」。可以使用的角色：{'、'.join(roles)}")]
        log.debug("command %s by %s", name, req.user.user_id)  # per message: the usage counts keep it
        await count_command(self.app.db, req.user.user_id, name, self.app.clock.now())
        try:
            return await cmd.func(req, args.strip())
        except AmbiguousOrder as e:
            await offer_choice(self.app.db, req.user.user_id, name, args.strip(), e, self.app.clock.now())
            log.info("%s by %s: %d matches, list offered", name, req.user.user_id, e.total)
            return [Reply(text=e.render(self.app.settings.tz))]

    async def _greet(self, req: Request) -> Reply:
        mine = {c.name: c for c in self.registry.commands.values() if may_run(self.app, req.user, c)}
        async with self.app.db.session() as s:
            used = [n for n in await top_commands(s, req.user.user_id) if n in mine]
        names = list(dict.fromkeys([*used, *(n for n in GREETING_FALLBACK if n in mine), *mine]))[:3]
        lines = [f"{req.user.name}，您好！您常用的命令："]
        lines += [f"· {mine[n].name}：{mine[n].summary}（例：{mine[n].example}）" for n in names]
        lines.append("直接发单号、手机号或运单号也能查单；发送「帮助」查看全部命令。")
        return Reply(text="\n".join(lines))

    def _unknown(self, req: Request, word: str) -> Reply:
        mine = [c.name for c in self.registry.commands.values() if may_run(self.app, req.user, c)]
        close = difflib.get_close_matches(word, mine, n=1, cutoff=0.3) or [
            c for c in mine if c and (c[0] in word)
        ][:1]
        log.info("unknown command %r from %s", redact(word[:20]), req.user.user_id)
        hint = f"您是不是想用「{close[0]}」？" if close else ""
        return Reply(text=f"不认识的命令「{word[:20]}」。{hint}发送「帮助」查看可用命令。")
