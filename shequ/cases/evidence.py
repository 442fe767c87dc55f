"""Evidence photos: checked by content, size-limited, stripped of EXIF, thumbnailed, private.

A file is accepted only when Pillow decodes it as JPEG, PNG or WebP — the name and the declared
content type are ignored (a text file named .jpg is refused). The stored image is re-encoded
from pixels (orientation applied first), so no EXIF block (GPS position, camera serial…)
survives. Files live under MEDIA_ROOT/cases/<yyyy>/<mm>/ with random names and are only ever
served by the permission-checked view; no public media URL exists.
"""

import base64
import contextlib
import datetime as dt
import hashlib
import io
import secrets
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from django.core import signing
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from shequ.core.errors import InvalidInput

MAX_BYTES = 10 * 1024 * 1024
# What `check_photo` takes: an uploaded file (or any file object) or its bytes.
type Upload = File | bytes | bytearray
MAX_PIXELS = 40_000_000
MAX_PHOTOS = 9
MAX_SIDE = 2560
THUMB_SIDE = 360
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass
class CheckedPhoto:
    """A validated, re-encoded photo ready to be stored."""

    data: bytes
    thumb: bytes
    content_type: str
    extension: str
    width: int
    height: int
    sha256: str
    name: str = ""


def photo_error(message: str, index: int | None = None, code: str = "invalid_photo"):
    field = "photos" if index is None else f"photos.{index}"
    return InvalidInput(message, code=code, details=[{"field": field, "message": message}])


def _read(upload: Upload) -> bytes:
    if isinstance(upload, bytes | bytearray):
        return bytes(upload)
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_BYTES:
        raise ValueError("too large")
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(MAX_BYTES + 1)
    return data


def check_photo(upload: Upload, index: int | None = None) -> CheckedPhoto:
    """Validate one upload (a Django UploadedFile, a file object or bytes) and re-encode it."""
    name = getattr(upload, "name", "") or ""
    try:
        raw = _read(upload)
    except ValueError:
        raw = b"x" * (MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise photo_error(
            _("照片 %(name)s 超过 10 MB，请压缩后再上传。") % {"name": name or index},
            index,
            "photo_too_large",
        )
    if not raw:
        raise photo_error(_("照片文件为空。"), index, "photo_empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw))
            kind = probe.format
            probe.verify()
            image: Image.Image = Image.open(io.BytesIO(raw))
            if image.width * image.height > MAX_PIXELS:
                raise Image.DecompressionBombError("too many pixels")
            image.load()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ):
        raise photo_error(
            _("文件 %(name)s 不是有效的图片（支持 JPEG、PNG、WebP）。") % {"name": name or index},
            index,
            "photo_type",
        ) from None
    if kind not in FORMATS:
        raise photo_error(
            _("不支持的图片格式 %(kind)s（支持 JPEG、PNG、WebP）。") % {"kind": kind},
            index,
            "photo_type",
        )
    image = ImageOps.exif_transpose(image)
    keep_png = kind == "PNG"
    if not keep_png and image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    data = _encode(image, keep_png)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    if thumb.mode not in ("RGB", "L"):
        thumb = thumb.convert("RGB")
    return CheckedPhoto(
        data=data,
        thumb=_encode(thumb, False),
        content_type="image/png" if keep_png else "image/jpeg",
        extension="png" if keep_png else "jpg",
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
        name=name,
    )


def _encode(image, png: bool) -> bytes:
    buffer = io.BytesIO()
    if png:
        image.save(buffer, format="PNG", optimize=True)  # no exif/pnginfo passed: none written
    else:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue()


def check_photos(uploads: Iterable[Upload]) -> list[CheckedPhoto]:
    uploads = list(uploads or [])
    if len(uploads) > MAX_PHOTOS:
        raise photo_error(
            _("每次最多上传 %(n)d 张照片。") % {"n": MAX_PHOTOS}, None, "too_many_photos"
        )
    return [check_photo(upload, i) for i, upload in enumerate(uploads)]


def store(photo: CheckedPhoto) -> tuple[str, str]:
    """Save the photo and its thumbnail; returns their storage paths."""
    now = timezone.now()
    token = secrets.token_hex(16)
    base = f"cases/{now:%Y/%m}/{token}"
    path = default_storage.save(f"{base}.{photo.extension}", ContentFile(photo.data))
    thumb = default_storage.save(f"{base}.thumb.jpg", ContentFile(photo.thumb))
    return path, thumb


def discard(paths) -> None:
    """Remove stored files (a transaction that saved them rolled back)."""
    for path in paths:
        with contextlib.suppress(OSError):
            default_storage.delete(path)


# --- pending uploads of a form that did not go through --------------------------------------
# A 随手拍 rejected for a missing location must not lose its photos: the checked photos are
# stored as drafts under MEDIA_ROOT/drafts/ and the page carries a signed token (user, paths)
# in a hidden field; the next submit reads them back. The token cannot be forged or used by
# another user, and expires after a day.

DRAFT_SALT = "shequ.cases.draft-photos"
DRAFT_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class Draft:
    path: str
    thumb_path: str


def drafts_from_token(token: str, *, user) -> list[Draft]:
    """The drafts a signed token names (none when missing, forged, expired or not the user's)."""
    if not token or user is None or not getattr(user, "pk", None):
        return []
    try:
        payload = signing.loads(token, salt=DRAFT_SALT, max_age=DRAFT_MAX_AGE)
    except signing.BadSignature:
        return []
    if not isinstance(payload, dict) or payload.get("u") != user.pk:
        return []
    drafts = []
    for pair in payload.get("p", [])[:MAX_PHOTOS]:
        path, thumb = pair
        if str(path).startswith("drafts/") and default_storage.exists(path):
            drafts.append(Draft(path, thumb))
    return drafts


def draft_token(drafts: list[Draft], *, user) -> str:
    if not drafts:
        return ""
    return signing.dumps(
        {"u": user.pk, "p": [[d.path, d.thumb_path] for d in drafts]}, salt=DRAFT_SALT
    )


def draft_photos_keep(*, user, token: str, uploads) -> tuple[str, list[Draft], list[dict]]:
    """Store the valid ones of `uploads` as drafts beside those of `token`.

    Returns (new token, all drafts, field errors of the uploads that were not images)."""
    drafts = drafts_from_token(token, user=user)
    errors: list[dict] = []
    for index, upload in enumerate(uploads or []):
        if len(drafts) >= MAX_PHOTOS:
            errors.append(
                photo_error(_("每次最多上传 %(n)d 张照片。") % {"n": MAX_PHOTOS}).details[0]
            )
            break
        try:
            photo = check_photo(upload, index)
        except InvalidInput as exc:
            errors += exc.details
            continue
        base = f"drafts/{timezone.now():%Y/%m}/{secrets.token_hex(16)}"
        path = default_storage.save(f"{base}.{photo.extension}", ContentFile(photo.data))
        thumb = default_storage.save(f"{base}.thumb.jpg", ContentFile(photo.thumb))
        drafts.append(Draft(path, thumb))
    return draft_token(drafts, user=user), drafts, errors


def draft_bytes(drafts: list[Draft]) -> list[bytes]:
    out = []
    for draft in drafts:
        with default_storage.open(draft.path, "rb") as handle:
            out.append(handle.read())
    return out


def draft_thumbnail_uri(draft: Draft) -> str:
    """A data: URI of the draft's thumbnail (small; the page's CSP allows data: images)."""
    with default_storage.open(draft.thumb_path, "rb") as handle:
        return "data:image/jpeg;base64," + base64.b64encode(handle.read()).decode("ascii")


def drafts_discard(drafts: list[Draft]) -> None:
    discard([p for d in drafts for p in (d.path, d.thumb_path)])


def drafts_purge(*, now=None) -> int:
    """Delete draft photos older than their token's lifetime (nobody can submit them any more).
    Walks drafts/<yyyy>/<mm>/ of this and the previous month; returns the files removed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=DRAFT_MAX_AGE)
    removed = 0
    months = {f"{now:%Y/%m}", f"{now.replace(day=1) - dt.timedelta(days=1):%Y/%m}"}
    for month in sorted(months):
        folder = f"drafts/{month}"
        try:
            _dirs, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in files:
            path = f"{folder}/{name}"
            with contextlib.suppress(OSError):
                if default_storage.get_modified_time(path) < cutoff:
                    default_storage.delete(path)
                    removed += 1
    return removed
