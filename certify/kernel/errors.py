"""The kernel's one error type: the certificate is malformed or inconsistent."""


class KernelError(Exception):
    """Raised for anything the kernel cannot accept; the message says what and where."""
