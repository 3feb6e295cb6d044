"""How devices are named to a client (docs/protocol-notes.md D2 echo rule, D3, R7, R8).

- The monitored device of a monitor, and the calling device of MakeCall, are written exactly
  as the client wrote them (``tel:+4685551001;phone-context=…`` stays byte for byte).
- Everyone else through ``deviceid.present``, the one rendering function: for the Lync
  dialect (TR/87) E.164 ``tel:`` URIs without phone-context via the public number plan (a
  number without a public form as ``tel:N;phone-context=dialstring``); otherwise dialling
  numbers.
- A party whose identity is restricted (withheld caller ID; :meth:`Presenter.hiding`) is
  never named: as a device it is ECMA-269/ECMA-323 ``<restricted/>``; in a connection
  identifier, which needs a device, it is the network interface (trunk) it came in on for an
  outside party, and no device at all (call identifier only) for an extension.
"""

from __future__ import annotations

from typing import Any

import attrs

from cstaserver.csta.deviceid import PresentationStyle, present
from cstaserver.csta.types import ConnectionID, DeviceID, ExtendedDeviceID


@attrs.frozen
class Presenter:
    """Renders internal numbers for one view: ``(e164, {number: client string})``."""

    numbering: Any  # has to_public(internal) -> str | None
    e164: bool = False
    echo: tuple[tuple[str, str], ...] = ()
    hidden: tuple[tuple[str, str | None], ...] = ()  # restricted party -> its trunk or None
    #: ``echo`` as a dictionary (the look-up of every device named)
    _echo_map: dict[str, str] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_echo_map", dict(self.echo))

    def hiding(self, parties: Any, viewpoint: str | None = None) -> Presenter:
        """This presenter with ``parties`` ((party, trunk or None) pairs) restricted, except
        the monitored ``viewpoint``: a device is never hidden from itself."""
        hidden = tuple((party, trunk) for party, trunk in parties if party != viewpoint)
        return attrs.evolve(self, hidden=hidden) if hidden else self

    def _hidden(self, number: str) -> tuple[bool, str | None]:
        for party, trunk in self.hidden:
            if party == number:
                return True, trunk
        return False, None

    def text(self, number: str) -> str:
        text = self._echo_map.get(number)
        if text is not None:
            return text
        style = PresentationStyle.E164_TEL_URI if self.e164 else PresentationStyle.DIALLING
        return present(number, style, self.numbering)

    def device_id(self, number: str | None) -> DeviceID | None:
        if number is None:
            return None
        if self.hidden:
            hidden, trunk = self._hidden(number)
            if hidden:  # a connection of a hidden party: by its trunk, or by no device
                return DeviceID(value=self.text(trunk)) if trunk is not None else None
        return DeviceID(value=self.text(number))

    def extended(self, number: str | None) -> ExtendedDeviceID:
        if number is None:
            return ExtendedDeviceID(not_known=True)
        if self.hidden and self._hidden(number)[0]:
            return ExtendedDeviceID(restricted=True)
        return ExtendedDeviceID(device_identifier=DeviceID(value=self.text(number)))

    def connection(self, call_id: str | None, number: str | None) -> ConnectionID:
        return ConnectionID(call_id=call_id, device_id=self.device_id(number))
