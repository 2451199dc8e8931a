"""The kernel's errors: a malformed or inconsistent certificate, and evidence over its limits."""


class KernelError(Exception):
    """Raised for anything the kernel cannot accept; the message says what and where."""


class Undecided(Exception):
    """The evidence does not let the kernel re-derive the bound within its limits (not a
    forgery: the bound stays trusted and the report says why)."""
