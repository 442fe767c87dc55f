"""Errors that shared middleware answers before an Open311 view runs (request too large 413,
NUL characters 400, Idempotency-Key 409/422/503) use the JSON API's {code, message, details}
shape. Under /open311/v2/ they are rewritten into the spec's [{code, description}] error list,
in XML when the path asks for .xml. Must sit before those middlewares in MIDDLEWARE."""

import json

from shequ.open311.formats import Open311Error, error_response, format_of_path

PREFIX = "/open311/v2/"
KEPT_HEADERS = ("Retry-After", "Allow", "Idempotent-Replayed")


class Open311ErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not request.path.startswith(PREFIX)
            or response.status_code < 400
            or response.streaming
            or not response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        try:
            body = json.loads(response.content)
        except ValueError:
            return response
        if not isinstance(body, dict) or "message" not in body:
            return response
        shaped = error_response(
            format_of_path(request.path), Open311Error(response.status_code, body["message"])
        )
        for name in KEPT_HEADERS:
            if name in response:
                shaped[name] = response[name]
        return shaped
