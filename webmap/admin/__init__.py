"""Administration: public-layer review, the audit log, and each account's own password."""
