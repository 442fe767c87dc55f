"""API authentication: `Authorization: Bearer <token>`, or the browser's session (with CSRF)."""

from ninja.security import HttpBearer, SessionAuth

from shequ.accounts.services import api_token_authenticate


class BearerAuth(HttpBearer):
    def authenticate(self, request, token: str):
        user = api_token_authenticate(token.strip())
        if user is not None:
            request.user = user  # views and the scoping helper read request.user
        return user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


bearer_auth = BearerAuth()
session_auth = ActiveSessionAuth()
api_auth = [bearer_auth, session_auth]
