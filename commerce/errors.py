"""Expected failures of the core, mapped to GraphQL error codes at the edge."""

from __future__ import annotations


class UserInputError(ValueError):
    """The caller sent something invalid; ``argument`` names what (``BAD_USER_INPUT``)."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(message)
        self.argument = argument
        self.message = message


def input_argument(field_name: str) -> str:
    """The GraphQL path of an input field: ``total_quantity`` -> ``input.totalQuantity``."""
    head, *rest = field_name.split("_")
    return "input." + head + "".join(part.title() for part in rest)


class NotFoundError(LookupError):
    """A well-formed reference to something that does not exist (``NOT_FOUND``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnauthenticatedError(PermissionError):
    """No valid token where one is needed (``UNAUTHENTICATED``)."""

    def __init__(self, message: str = "sign in first: send Authorization: Bearer <token>") -> None:
        super().__init__(message)
        self.message = message


class ForbiddenError(PermissionError):
    """Signed in, but not allowed to do this (``FORBIDDEN``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnavailableError(RuntimeError):
    """A part of the service is not configured, down or too slow; ``code`` is what clients
    see (``SERVICE_UNAVAILABLE``, or ``SEARCH_UNAVAILABLE`` for search)."""

    def __init__(self, message: str, code: str = "SERVICE_UNAVAILABLE") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
