"""The cases API's router and its paging limits; the endpoint modules register on it."""

from ninja import Router

router = Router(tags=["cases"])

MAX_PAGE_SIZE = 200
MAX_PAGE = 100_000  # OFFSET stays far inside 64 bits (SQLite refused 10**17 × 50)
