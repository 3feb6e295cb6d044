"""The web port's shared HTTP layer: the status page (``/`` and ``/api/status``), the live
status as plain data that the status page and the JSON API both read (:mod:`.status`), and
the HTTP Basic login gate of every resource that asks for a login (:mod:`.auth`)."""
