"""QR codes as data URIs (SVG), drawn on the server: no script, works when printed.

segno is a small pure-Python QR encoder (no dependencies); the page's CSP allows `data:`
images. A QR holds a URL of this site (a check-in link) or a short code, never personal data.

Used by: shequ.core.checkin (`checkin_qr`, the check-in codes of every app), the points
platform's pay codes and pickup codes (shequ.points.views.resident).
"""

import segno


def qr_data_uri(text: str, *, scale: int = 6) -> str:
    return segno.make(text, error="m", micro=False).svg_data_uri(scale=scale, border=2)
