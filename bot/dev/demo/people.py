"""The demo's workspace: its people (Slack user ids and roles) and its one channel."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CHANNEL_ID", "CHANNEL_NAME", "People", "Person"]

CHANNEL_ID = "C0DEMO001"
CHANNEL_NAME = "demo"

_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,19}$")
_MENTION = re.compile(r"@([UW][A-Z0-9]{2,})\b")


@dataclass(frozen=True)
class Person:
    name: str
    user_id: str
    approver: bool
    role: str = ""  # "requester" for the one the demo starts as
    aliases: tuple[str, ...] = ()

    @property
    def describe(self) -> str:
        kind = "approver" if self.approver else "not an approver"
        role = f"{self.role}, " if self.role else ""
        return f"{self.name} ({self.user_id}, {role}{kind})"


_PREDEFINED: tuple[Person, ...] = (
    Person("alex", "U0ALEX001", approver=False, role="requester", aliases=("requester",)),
    Person("sam", "U0SAM0001", approver=True, aliases=("approver", "approver1")),
    Person("kim", "U0KIM0001", approver=True, aliases=("approver2",)),
    Person("lee", "U0LEE0001", approver=False, aliases=("other", "stranger", "non-approver")),
)


class People:
    """Everyone in the demo workspace. ``/as <new name>`` adds a person who is not an approver."""

    def __init__(self) -> None:
        self._people: list[Person] = list(_PREDEFINED)

    @property
    def everyone(self) -> tuple[Person, ...]:
        return tuple(self._people)

    @property
    def first(self) -> Person:
        return self._people[0]

    def approver_ids(self) -> str:
        """``APPROVERS`` for the demo's settings (fixed at start: the predefined approvers)."""
        return ",".join(p.user_id for p in _PREDEFINED if p.approver)

    def find(self, who: str) -> Person | None:
        """The person ``who`` names (name, alias or user id, any case, with or without ``@``)."""
        key = who.strip().lstrip("@").lower()
        for person in self._people:
            if key in (person.name, person.user_id.lower(), *person.aliases):
                return person
        return None

    def find_or_add(self, who: str) -> Person | None:
        """:meth:`find`, or a new non-approver called ``who``; None if it is not a usable name."""
        found = self.find(who)
        key = who.strip().lstrip("@").lower()
        if found is not None or not _NAME.match(key):
            return found
        letters = re.sub(r"[^A-Z0-9]", "", key.upper())[:7]
        person = Person(key, f"U0{letters}{len(self._people):02d}", approver=False)
        self._people.append(person)
        return person

    def name_of(self, user_id: str) -> str:
        """The name of the person with ``user_id`` (the id itself for someone unknown)."""
        return next((p.name for p in self._people if p.user_id == user_id), user_id)

    def named(self, text: str) -> str:
        """``text`` with rendered mentions (``@U0SAM0001``, ``#C0DEMO001``) shown by name."""
        by_id = {p.user_id: p.name for p in self._people}
        text = text.replace(f"#{CHANNEL_ID}", f"#{CHANNEL_NAME}")
        return _MENTION.sub(lambda m: "@" + by_id.get(m.group(1), m.group(1)), text)
