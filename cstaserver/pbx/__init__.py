"""cstaserver/pbx: the simulated MX-ONE switching model (ECMA-269 call model, ECMA TR/82).

Contract: ``plan`` (exchange data), ``states``, ``events``, ``errors``, ``interfaces``
(ISwitch), ``demo``. Implementation: ``switch`` (Switch, the ISwitch operations), ``core``
(state and call-progress steps), ``calls`` (Call, Connection, ECMA-269 6.1.5 transitions),
``devices`` (DeviceInfo, Agent, Numbering), ``bus`` (event subscriptions), ``routing``
(forwarding, DND, busy), ``groups`` (hunt, cascade, ACD), ``network`` (trunks, outside
network, predictive calls), ``simulator`` (the ``sim`` controls) and ``traffic``.
"""
