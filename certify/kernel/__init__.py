"""The checker kernel: re-derives a certificate's verdict from its evidence.

It is small on purpose and shares no code with the builders or the analysis: it imports
python-flint and the standard library only (an import-linter contract keeps it so).  It reads the
statement (parameter domains, bound and architecture formulas) from the installed claims files,
never from the certificate; it parses formulas and target expressions with ``ast`` into a tree it
walks itself — nothing in a certificate is ever evaluated as code.

``check_certificate_data(cert)`` returns a :class:`~certify.kernel.check.KernelReport`: what was
re-derived, what (if anything) was still trusted, and every inconsistency found.
"""

from certify.kernel.check import KernelReport, check_certificate_data  # noqa: E402

__all__ = ["KernelReport", "check_certificate_data"]
