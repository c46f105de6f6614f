"""Domain errors. The web layer maps each to an HTTP status and the JSON error format."""


class DomainError(Exception):
    """Base of errors a user can cause; ``code`` names it in the API."""

    status = 400
    code = "bad_request"

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class ValidationError(DomainError):
    """Field values that are invalid (422). ``fields`` maps field name to message."""

    status = 422
    code = "invalid"


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class UnsupportedType(DomainError):
    status = 415
    code = "unsupported_type"


class Conflict(DomainError):
    """Not allowed in the current state (409)."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    """The user's role (or unit) may not take this step (403)."""

    status = 403
    code = "forbidden"
