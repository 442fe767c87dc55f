"""Which role's home page a user sees (they may hold several)."""

from shequ.core.roles import ROLE_PRIORITY, Role
from shequ.core.scoping import user_assignments

SESSION_KEY = "shequ_active_role"


def available_roles(user) -> list[Role]:
    held = {a.role for a in user_assignments(user)}
    return [role for role in ROLE_PRIORITY if role in held]


def active_role(request) -> Role | None:
    roles = available_roles(request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen in roles:
        return Role(chosen)
    return roles[0] if roles else None


def assignments_for(user, role: str) -> list:
    return [a for a in user_assignments(user) if a.role == role]
