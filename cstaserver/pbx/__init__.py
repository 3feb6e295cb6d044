"""cstaserver/pbx: the simulated MX-ONE switching model (ECMA-269 call model, ECMA TR/82).

Contract: ``plan`` (exchange data), ``states``, ``events``, ``errors``, ``interfaces``
(ISwitch, and the seams between the switch's parts), ``demo``. Implementation: ``switch``
(Switch, the ISwitch facade that holds the core and its features), ``core`` (CallProcessing:
state and call-progress steps), ``calls`` (Call, Connection, ECMA-269 6.1.5 transitions),
``devices`` (DeviceInfo, Agent, Numbering), ``bus`` (event subscriptions), ``routing``
(forwarding, DND, busy), ``groups`` (hunt, cascade, ACD), ``network`` (trunks, outside
network, predictive calls), ``simulator`` (the ``sim`` controls) and ``traffic``.
"""
