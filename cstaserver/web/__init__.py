"""The status page of the web port (``/`` and ``/api/status``)."""
