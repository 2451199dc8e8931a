"""The one exception type for mistakes a user can make.

The CLI prints its message as a single line on stderr and exits with code 2; anything else that
escapes is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """Bad input: an unknown id, a parameter outside its domain, a malformed file or target."""
