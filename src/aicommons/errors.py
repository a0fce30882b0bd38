"""The platform's one exception tree.

Every error a client can cause or meet is an `AICommonsError` with an HTTP status and an
OpenAI error type; the API layer renders it as ``{"error": {message, type, param, code}}``.
Third-party errors are translated into these at the boundary where they are caught.
"""

from __future__ import annotations


class AICommonsError(Exception):
    """Base of all errors that reach a client in OpenAI error format."""

    status_code = 500
    error_type = "server_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}

    def to_dict(self) -> dict[str, object]:
        """The OpenAI-shaped error body."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


class InvalidRequestError(AICommonsError):
    """The request is malformed or asks for something impossible (400)."""

    status_code = 400
    error_type = "invalid_request_error"


class PayloadTooLargeError(InvalidRequestError):
    """The request body is larger than the configured limit (413)."""

    status_code = 413


class AuthenticationError(AICommonsError):
    """No key, or a key that is unknown, revoked or expired (401)."""

    status_code = 401
    error_type = "authentication_error"


class PermissionDeniedError(AICommonsError):
    """The key is valid but may not do this (403)."""

    status_code = 403
    error_type = "permission_error"


class NotFoundError(AICommonsError):
    """The model or resource does not exist, or the key may not see it (404)."""

    status_code = 404
    error_type = "not_found_error"


class ConflictError(AICommonsError):
    """The resource already exists or is in a state that forbids the change (409)."""

    status_code = 409
    error_type = "invalid_request_error"


class RateLimitError(AICommonsError):
    """A budget, rate limit or queue cap was hit (429); carries Retry-After."""

    status_code = 429
    error_type = "rate_limit_error"


class UpstreamError(AICommonsError):
    """An upstream engine answered with an error or broke off (502)."""

    status_code = 502
    error_type = "upstream_error"


class EngineUnavailableError(AICommonsError):
    """No healthy replica or slot can take the request (503)."""

    status_code = 503
    error_type = "service_unavailable"


class UpstreamTimeoutError(AICommonsError):
    """The upstream engine did not answer in time (504)."""

    status_code = 504
    error_type = "timeout_error"


class ConfigError(Exception):
    """The platform's own configuration is wrong; raised at start-up, never to a client."""
