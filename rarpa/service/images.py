"""A photo as it comes in (from the tablet, or any API client), made into
what the record keeps: checked by its content, never by its name or the type
it claims; decoded only if it is JPEG, PNG or WebP and not too many pixels;
turned upright; and written again as a plain JPEG with nothing but pixels in
it (no EXIF, so no GPS position, camera or time; no XMP, ICC profile or
comment), plus a small thumbnail.

The tablet already resizes and re-encodes through a canvas, which drops the
metadata; this is done again here whatever the client did.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from rarpa.record import RuleBroken

# What may be uploaded at all (the web layer refuses a bigger request before reading it).
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
# Pixels a photo may declare before it is decoded: a small file can claim a huge
# image (a "decompression bomb"), and decoding allocates what it claims. 50
# megapixels is more than a tablet or phone camera writes by default.
MAX_PIXELS = 50_000_000
# Pillow's own guard, for every image this process opens (WeasyPrint too): a
# warning above this, an error above twice it. Ours (above) refuses first, in words.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

FORMATS = ("JPEG", "PNG", "WEBP")
LONGEST_SIDE = 1600  # what is kept: plenty to see what the learner did
THUMB_SIDE = 320  # the evidence list and the observation page show this (at up to 160 CSS px, 2x)
QUALITY = 82
THUMB_QUALITY = 75

NOT_A_PHOTO = "This file is not a photo we can keep (JPEG, PNG or WebP)"
TOO_BIG = f"This photo is too big: at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"
TOO_MANY_PIXELS = f"This photo has too many pixels: at most {MAX_PIXELS // 1_000_000} megapixels"


@dataclass(frozen=True)
class KeptPhoto:
    """What is kept: the JPEG and its thumbnail, and what the event says of them."""

    jpeg: bytes
    thumb: bytes
    sha256: str
    received_sha256: str
    width: int
    height: int
    thumb_sha256: str

    @property
    def size(self) -> int:
        return len(self.jpeg)

    def facts(self) -> dict:
        """The event's fields (PhotoAttached), for the record's command."""
        return {"sha256": self.sha256, "received_sha256": self.received_sha256, "size": self.size,
                "width": self.width, "height": self.height, "thumb_sha256": self.thumb_sha256}


def _refuse(message: str) -> RuleBroken:
    return RuleBroken("photo", message)


def _pixels_only(image: Image.Image, longest: int) -> Image.Image:
    """A new RGB image of at most ``longest`` pixels a side, made from the
    pixels alone: nothing of the original's info (EXIF, XMP, ICC, comments)
    can come with it."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))  # transparent parts on white, as on a page
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image = image.copy()
    image.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    return Image.frombytes("RGB", image.size, image.tobytes())


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile=, comment= or xmp=: and the image, made from pixels
    # alone, has none of its own for Pillow to carry over.
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def keep(data: bytes) -> KeptPhoto:
    """The photo to keep, or RuleBroken("photo", ...) saying in plain words why not."""
    if not data:
        raise _refuse("Choose a photo to send")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _refuse(TOO_BIG)
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only: nothing decoded yet
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _refuse(NOT_A_PHOTO) from None
    except Image.DecompressionBombError:
        raise _refuse(TOO_MANY_PIXELS) from None
    with image:
        width, height = image.size
        if width < 1 or height < 1:
            raise _refuse(NOT_A_PHOTO)
        if width * height > MAX_PIXELS:
            raise _refuse(TOO_MANY_PIXELS)
        try:
            if image.format == "JPEG":
                # Decode at a fraction of its size where that is still at least twice what is
                # kept (JPEG can, by its DCT scaling): a 12 MP photo then costs a quarter of the
                # memory and time, and what is kept looks the same.
                image.draft("RGB", (LONGEST_SIDE * 2, LONGEST_SIDE * 2))
            image.load()  # the whole file decodes, or it is not a photo we keep
            upright = ImageOps.exif_transpose(image)  # as the camera meant it, before the EXIF goes
            photo = _pixels_only(upright, LONGEST_SIDE)
        except Image.DecompressionBombError:
            raise _refuse(TOO_MANY_PIXELS) from None
        except (OSError, ValueError, SyntaxError, EOFError, MemoryError):
            raise _refuse(NOT_A_PHOTO) from None
    thumb = photo.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    jpeg, small = _jpeg(photo, QUALITY), _jpeg(thumb, THUMB_QUALITY)
    return KeptPhoto(jpeg=jpeg, thumb=small, sha256=hashlib.sha256(jpeg).hexdigest(),
                     received_sha256=hashlib.sha256(data).hexdigest(), width=photo.width, height=photo.height,
                     thumb_sha256=hashlib.sha256(small).hexdigest())


def is_kept_jpeg(data: bytes) -> bool:
    """Whether ``data`` is a JPEG this installation could have kept (an imported
    photo: pinned by its digest already, this checks it opens as a photo)."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                return False
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return False
    return True
