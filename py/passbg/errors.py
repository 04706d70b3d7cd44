"""Exception types with plain-words messages.

Two families, because callers react differently:
- `InputError`: the user's input is wrong (a broken photo, an unknown background name). Fix the input.
- `SetupError`: the installation is incomplete (a model file or onnxruntime is missing). Fix the setup.
"""


class PassbgError(Exception):
    """Base class: `str(err)` is a complete sentence meant for the user."""


class InputError(PassbgError):
    """The photo or an option given by the user cannot be used."""


class SetupError(PassbgError):
    """Something the program needs is not installed or not built (models, onnxruntime)."""
