"""The Pillow work on an upload (synchronous: the service runs it in a worker thread).

`inspect_and_derive` checks a received file and makes its derivatives in one pass:
1. the magic bytes must be those of the declared type (JPEG, PNG or WebP), whatever else the file claims;
2. Pillow opens it with that one decoder only (no other format's parser is ever reached) and the pixel
   count is checked before anything is decoded (decompression bombs);
3. one decode reads the whole file, so a truncated or corrupt image fails here (LOAD_TRUNCATED_IMAGES is
   never set). A JPEG decodes in draft mode at the DCT scale (1/2, 1/4, 1/8) nearest the display size,
   which skips most of the work on a 12-megapixel phone photo;
4. the display image (longest side at most 2048 px) and the thumbnail (at most 320 px) are made from that
   decode, converted to sRGB from the photo's embedded ICC profile (a phone's Display P3, say; without one,
   or with one LittleCMS cannot use, the pixels are taken as sRGB), turned upright (EXIF orientation) and
   re-encoded as JPEG with no EXIF, GPS, ICC, XMP or comment: only pixels leave the evidence store, and they
   look as they did on the phone in any viewer (which assumes sRGB for an image without a profile);
5. the capture time and GPS position are read from the EXIF as values for the database.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

DISPLAY_PX = 2048
THUMBNAIL_PX = 320
# A JPEG may decode at a DCT scale up to 5% below the display size (a 4032 px photo gives 2016 px):
# decoding a quarter of the pixels is what makes the pipeline fast.
DRAFT_TOLERANCE = 0.95
DISPLAY_QUALITY = 85
THUMBNAIL_QUALITY = 80
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

FORMAT_OF = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


class ImageRejected(Exception):
    """The file is not an image we accept; `code` is the problem's stable code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Derivative:
    sha256: str
    size: int


@dataclass(frozen=True)
class Processed:
    media_type: str
    width: int
    height: int
    captured_at: datetime | None
    latitude: float | None
    longitude: float | None
    display: Derivative
    thumbnail: Derivative


def sniff(head: bytes) -> str | None:
    """The media type the first bytes prove, of those we accept; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def inspect_and_derive(
    source: Path, declared_type: str, *, max_pixels: int, display_path: Path, thumbnail_path: Path
) -> Processed:
    with open(source, "rb") as file:
        head = file.read(16)
    found = sniff(head)
    if found is None:
        raise ImageRejected("unsupported_image", "The body is not a JPEG, PNG or WebP image.")
    if found != declared_type:
        raise ImageRejected("type_mismatch", f"The body is {found}, not {declared_type} as declared.")
    try:
        # formats=[...]: only this decoder may look at the bytes.
        with Image.open(source, formats=[FORMAT_OF[found]]) as im:
            width, height = im.size
            if width * height > max_pixels:
                raise ImageRejected(
                    "image_too_large", f"The image has {width}x{height} pixels; at most {max_pixels:,} are accepted."
                )
            exif = im.getexif()
            upright = _decode_upright(im)
    except Image.DecompressionBombError:
        raise ImageRejected("image_too_large", "The image claims more pixels than are accepted.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected("image_corrupt", "The image cannot be decoded completely (truncated or corrupt).") from exc
    captured_at, latitude, longitude = _exif_facts(exif)
    display = _fit(upright, DISPLAY_PX)
    display_facts = _save(display, display_path, DISPLAY_QUALITY)
    thumbnail = display.copy()
    # reducing_gap 1.5: a cheap integer reduce() takes 2016 px down to 504 px before the fine resampling.
    thumbnail.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), reducing_gap=1.5)
    thumbnail_facts = _save(thumbnail, thumbnail_path, THUMBNAIL_QUALITY)
    return Processed(found, width, height, captured_at, latitude, longitude, display_facts, thumbnail_facts)


def _decode_upright(im: ImageFile.ImageFile) -> Image.Image:
    """One complete decode (at a reduced JPEG scale when that still gives the display size), in RGB,
    orientation applied."""
    if im.format == "JPEG":
        longest = max(im.size)
        if longest > DISPLAY_PX:
            factor = DISPLAY_PX * DRAFT_TOLERANCE / longest
            im.draft("RGB", (max(1, math.ceil(im.width * factor)), max(1, math.ceil(im.height * factor))))
    im.load()
    upright = ImageOps.exif_transpose(im)  # a new image, or a copy when there is nothing to turn
    return _rgb(_in_srgb(upright, im.info.get("icc_profile")))


SRGB = ImageCms.createProfile("sRGB")
# Modes LittleCMS converts to sRGB, and the mode each becomes (an alpha channel is kept for _rgb).
_CONVERTIBLE = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB", "L": "RGB"}


def _in_srgb(im: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """The pixels converted from the embedded ICC profile to sRGB; as they are without a usable profile."""
    if not icc_profile or im.mode not in _CONVERTIBLE:
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(im, source, SRGB, outputMode=_CONVERTIBLE[im.mode])
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im  # the profile is client data: a broken or unsuitable one counts as absent
    return converted or im


def _rgb(im: Image.Image) -> Image.Image:
    """RGB pixels; transparent areas become white (the derivatives are JPEG)."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im if im.mode == "RGB" else im.convert("RGB")


def _fit(im: Image.Image, longest: int) -> Image.Image:
    if max(im.size) <= longest:
        return im
    fitted = im.copy()
    fitted.thumbnail((longest, longest))
    return fitted


def _save(im: Image.Image, path: Path, quality: int) -> Derivative:
    # A fresh info dict: Pillow would otherwise carry a JPEG comment from the original into the copy. No
    # exif=, icc_profile= or xmp= is passed, so none is written.
    im.info = {}
    with open(path, "wb") as file:
        im.save(file, format="JPEG", quality=quality)
    data = path.read_bytes()
    return Derivative(sha256=hashlib.sha256(data).hexdigest(), size=len(data))


# --- EXIF --------------------------------------------------------------------------------------------------


def _exif_facts(exif: Image.Exif) -> tuple[datetime | None, float | None, float | None]:
    """Capture time and position from EXIF: the phone's claims; anything unreadable counts as absent."""
    try:
        details = exif.get_ifd(ExifTags.IFD.Exif)
        captured = _capture_time(
            details.get(ExifTags.Base.DateTimeOriginal), details.get(ExifTags.Base.OffsetTimeOriginal)
        )
    except Exception:
        captured = None
    try:
        latitude, longitude = _position(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:
        latitude = longitude = None
    return captured, latitude, longitude


def _capture_time(value: Any, offset: Any) -> datetime | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' with its offset ('+01:00'); without one it is local time in Amsterdam,
    where the phones are used."""
    if not isinstance(value, str):
        return None
    local = datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    zone: Any = AMSTERDAM
    if isinstance(offset, str) and len(offset.strip("\x00 ")) == 6:
        text = offset.strip("\x00 ")
        sign = -1 if text[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))
    return local.replace(tzinfo=zone).astimezone(UTC)


def _position(gps: dict[int, Any]) -> tuple[float | None, float | None]:
    latitude = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    longitude = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    return latitude, longitude


def _degrees(dms: Any, ref: Any, negative: str) -> float | None:
    if not isinstance(dms, tuple) or len(dms) != 3:
        return None
    value = float(dms[0]) + float(dms[1]) / 60 + float(dms[2]) / 3600
    if not math.isfinite(value):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -value if isinstance(ref, str) and ref.strip("\x00 ").upper() == negative else value
