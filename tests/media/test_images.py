"""Photo checks: type by content, size and pixel limits, EXIF (with GPS) stripped,
orientation applied, thumbnails."""

from __future__ import annotations

import io

from PIL import Image

from gridmap.media.images import MediaParams, prepare, sniff

GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (1200, 800), orientation: int = 1) -> bytes:
    """A real JPEG whose EXIF holds a camera model, an orientation and a GPS position."""
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, size[0] // 4, size[1]))  # blue band on the left
    exif = Image.Exif()
    exif[0x0110] = "TestPhone 1"  # Model
    exif[0x0112] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (31.0, 18.0, 15.5), 3: "E", 4: (121.0, 30.0, 9.0)})
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def test_a_real_phone_jpeg_loses_its_exif_and_gps() -> None:
    data = jpeg_with_gps()
    before = Image.open(io.BytesIO(data)).getexif()
    assert before.get_ifd(GPS_IFD) and before[0x0110] == "TestPhone 1"
    photo, problem = prepare(data, MediaParams())
    assert problem is None and photo is not None
    assert photo.mime == "image/jpeg" and (photo.width, photo.height) == (1200, 800)
    clean = Image.open(io.BytesIO(photo.data))
    assert dict(clean.getexif()) == {} and not clean.getexif().get_ifd(GPS_IFD)
    assert b"Exif" not in photo.data[:4096] and b"TestPhone" not in photo.data
    thumb = Image.open(io.BytesIO(photo.thumb))
    assert max(thumb.size) == 320 and b"Exif" not in photo.thumb[:4096]
    assert len(photo.sha256) == 64


def test_orientation_is_applied_before_the_exif_goes() -> None:
    photo, _ = prepare(jpeg_with_gps((1200, 800), orientation=6), MediaParams())
    assert photo is not None and (photo.width, photo.height) == (800, 1200)


def test_large_photos_are_scaled_down() -> None:
    photo, _ = prepare(jpeg_with_gps((3000, 1500)), MediaParams(max_side=1600))
    assert photo is not None and (photo.width, photo.height) == (1600, 800)


def test_type_is_read_from_the_content_not_the_name() -> None:
    png = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 255, 0, 128)).save(png, "PNG")
    webp = io.BytesIO()
    Image.new("RGB", (40, 30)).save(webp, "WEBP")
    assert sniff(png.getvalue()) == "image/png" and sniff(webp.getvalue()) == "image/webp"
    for data, mime in ((png.getvalue(), "image/png"), (webp.getvalue(), "image/webp")):
        photo, problem = prepare(data, MediaParams())
        assert problem is None and photo is not None and photo.mime == mime
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    for bad in (b"<svg onload=alert(1)>", gif.getvalue(), b"%PDF-1.4 ..."):
        photo, problem = prepare(bad, MediaParams(), n=3)
        assert photo is None and problem is not None
        assert problem.code == "media.bad_type" and problem.params["n"] == 3


def test_truncated_empty_oversized_and_bomb_images_are_refused() -> None:
    data = jpeg_with_gps()
    cases = {
        "media.unreadable": (data[:200], MediaParams()),
        "media.empty": (b"", MediaParams()),
        "media.too_large": (data, MediaParams(max_bytes=1000)),
        "media.too_many_pixels": (data, MediaParams(max_pixels=1000 * 800)),
    }
    for code, (blob, params) in cases.items():
        photo, problem = prepare(blob, params)
        assert photo is None and problem is not None and problem.code == code, code
    assert "1200" in problem.render("zh") if problem else False
