"""From a token to the principal the draft layer sees: "Alice via Claude", never the token."""

from __future__ import annotations

from sdassist.identity.store import Person
from sdassist.publishing.drafts import Principal

__all__ = ["assistant_for", "person_confirming"]


def assistant_for(person: Person, client_name: str) -> Principal:
    """The assistant a person signed in (or holds a personal access token for): it drafts as them."""
    return Principal(id=person.id, kind="assistant", face="mcp", name=f"{person.name} via {client_name}",
                     via=client_name)


def person_confirming(person: Person, where: str) -> Principal:
    """The person themself, confirming in their browser (`where` = "web") what their assistant drafted."""
    return Principal(id=person.id, kind="human", face="web" if where == "web" else "mcp", name=person.name)
