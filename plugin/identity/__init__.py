"""Who is acting: per-key identity sources (user tokens, proxy assertions, host signatures, trusted
headers) and signed approval links."""
