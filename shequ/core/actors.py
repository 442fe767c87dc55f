"""Who acts, as types: the `actor` of every service and the `user` that scoping and permission
checks take. Annotations only; used by the services and selectors of every app.

core sits below accounts (docs/architecture.md, Floors) and never imports its User model: these
aliases name it as django-stubs does (`django.contrib.auth.models._User`, which the stubs' mypy
plugin resolves to AUTH_USER_MODEL, i.e. accounts.User). The imports are for the type checker
only; the aliases are lazy (`type` statements), so modules may import and use them at run time.
Apps above accounts may as well import `shequ.accounts.models.User` itself.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, _User

# A signed-in user (accounts.User).
type User = _User

# What a request carries: a signed-in user or an anonymous visitor.
type AnyUser = _User | AnonymousUser

# Who acts where a service also runs without a person: None is the system (jobs, seeders,
# management commands); an anonymous visitor is recorded as no one.
type Actor = _User | AnonymousUser | None
