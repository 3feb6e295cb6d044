"""The CSTA service handlers; importing this package registers every one of them."""

from cstaserver.csta.services import (  # noqa: F401
    call_control,
    capabilities,
    logical,
    monitoring,
    physical,
    routeing,
    sessions,
    snapshot,
    system,
)
