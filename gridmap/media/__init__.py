"""Case photos (issue #14, field reporting): checked, EXIF-stripped images stored on disk
under ``<data_dir>/media`` (never in the web root) and recorded in ``incident_photo``.

- :mod:`gridmap.media.images`: pure image handling (type by magic bytes, size and pixel
  limits, EXIF/GPS stripped by re-encoding, orientation applied, thumbnails).
- :mod:`gridmap.media.photos`: storing, listing and reading the photos of a case.

Who may see a case's photos is decided by the caller through
:func:`gridmap.accounts.scope.get_incident` (the same rule as the case itself).
"""

from gridmap.media.images import MediaParams, Prepared, prepare, sniff
from gridmap.media.photos import (
    add_photos,
    check_count,
    get_photo,
    list_photos,
    media_root,
    read_photo,
    store_prepared,
)

__all__ = ["MediaParams", "Prepared", "add_photos", "check_count", "get_photo", "list_photos",
           "media_root", "prepare", "read_photo", "sniff",
           "store_prepared"]
