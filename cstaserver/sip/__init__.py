"""cstaserver/sip: our own SIP stack for TR/87 uaCSTA (RFC 3261, RFC 3581, RFC 4028).

- ``headers``: header grammar (multi-map, compact forms, name-addr, Via, CSeq, URIs).
- ``message``: ``SipRequest``/``SipResponse``, ``parse_datagram``, ``SipStreamParser``,
  ``SipParseError``, ``make_response``.
- ``transaction``: RFC 3261 §17 server and client transactions on an injected clock.
- ``dialog``: UAS dialogs (RFC 3261 §12) and the session timer (RFC 4028).
- ``interfaces``: the seams: ``ISipApplication`` (implemented by the TR/87 module),
  ``ISipDialog``, ``ISipFlow``, ``SipAnswer``.
- ``endpoint``: ``SipEndpoint`` and ``SipConfig``, the UA core.
- ``transport``: UDP and TCP protocols and ``listen_sip(reactor, endpoint, port, interface)``.

Nothing here knows CSTA or XML. See docs/sip-layer.md.
"""
