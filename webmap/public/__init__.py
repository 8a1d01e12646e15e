"""Pages and services for the public, no account needed: the approved public map and its tiles,
the owner's building and 告知书, claims and complaints."""
