"""The QloApps adapter: ``QloAppsAdapter`` speaks the QloApps webservice (``/api/...``) for one hotel.

* ``client`` — HTTP (one ``httpx.Client`` per adapter, Basic auth with the key as user and an empty password,
  explicit connect/read timeouts) and the translation of QloApps answers and errors into ``pms.base`` errors.
* ``parsing`` — JSON answers → ``RoomType`` / ``Offer`` / ``Booking`` values, tolerant of QloApps' shapes
  (multilingual fields, PHP arrays that become objects, numbers as strings).
* ``adapter`` — the ``PMSAdapter`` itself.
"""

from pms.qloapps.adapter import DEFAULT_LANGUAGES, QloAppsAdapter

__all__ = ["DEFAULT_LANGUAGES", "QloAppsAdapter"]
