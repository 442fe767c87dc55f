"""Errors raised by services; the API and the web layer turn them into responses.

Each carries a stable machine `code`, a Chinese `message` for people, an HTTP `status`
and optional `details` (field errors etc.).
"""

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class PermissionDeniedError(ServiceError):
    status = 403
    code = "forbidden"


class NotFoundError(ServiceError):
    status = 404
    code = "not_found"


class ConflictError(ServiceError):
    """The request conflicts with the current state (a transition not allowed, a duplicate…)."""

    status = 409
    code = "conflict"
