"""Points pages: resident (mobile first) and staff."""
