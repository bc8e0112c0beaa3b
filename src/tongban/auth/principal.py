"""Who is asking: the user and their role grants with scopes, resolved once per request."""

from __future__ import annotations

from dataclasses import dataclass, field

from tongban.auth.models import Role


@dataclass(frozen=True)
class Scope:
    """A role held over a jurisdiction subtree, optionally narrowed to one department."""

    role: Role
    jurisdiction_path: str  # "/990000/990100/990123/"
    department_id: int | None = None


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    scopes: tuple[Scope, ...] = field(default_factory=tuple)
    via_token: bool = False

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(s.role for s in self.scopes)

    def has_role(self, *roles: Role) -> bool:
        return any(s.role in roles for s in self.scopes)

    def scopes_for(self, *roles: Role) -> list[Scope]:
        return [s for s in self.scopes if s.role in roles]

    def covers(self, *roles: Role, jurisdiction_path: str, department_id: int | None) -> bool:
        """True when one grant of the given roles covers this department in this subtree."""
        for scope in self.scopes_for(*roles):
            if not jurisdiction_path.startswith(scope.jurisdiction_path):
                continue
            if scope.department_id is None or scope.department_id == department_id:
                return True
        return False
