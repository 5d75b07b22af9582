"""Out of office: a person's absence (from, to, delegate, optionally per query), set by themselves or an admin."""
