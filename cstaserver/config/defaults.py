"""The exchange data of a new data directory (the demo exchange of the README).

How the demo expresses its two LIMs: every LIM of the simulation runs on this one host, so
one CSTA server of each type is enough to reach every device of the exchange, and their ports
must differ. The default CSTA servers put the XML server (8882, TLS 8883, web 8080) on the
first LIM and the TR/87 server (5062) on the last LIM: in the demo that is XML on LIM 1 and
TR/87 on LIM 2 (one server per LIM, as Figure 2 of the MX-ONE operational directions "CSTA
Server (Phase III)" draws it); in an empty exchange (one LIM, ``--no-demo``) both are on
LIM 1. ``csta -i --lim N`` can move or add servers.

The demo adds: authentication optional on both servers, authentication criteria for
application ``demo`` (user ``csta_user``, password ``csta``), the web account ``csta_user`` /
``csta``. A new exchange has no admin account: the server's first run makes the account
``admin`` with a random password, stores only its hash and shows the password once in its log
(docs/security.md); ``csta_admin_password`` adds accounts before or after that.
"""

from __future__ import annotations

from pathlib import Path

from cstaserver.config.model import (
    ApplicationCriteria,
    AuthenticationCriteria,
    AuthMode,
    CstaServerSettings,
    ExchangeData,
    ServerType,
    UserCredential,
    WebAccount,
)
from cstaserver.config.passwords import hash_password
from cstaserver.config.store import DataDirectory
from cstaserver.pbx.demo import demo_plan
from cstaserver.pbx.plan import ExchangePlan, Lim

XML_PORT = 8882
TLS_PORT = 8883
WEB_PORT = 8080
SIP_PORT = 5062

DEFAULT_ADMIN_USER = "admin"
#: The admin password of data directories made by older versions: the start-up log asks to
#: change it while it is still in use.
LEGACY_ADMIN_PASSWORD = "admin"
DEMO_APPLICATION = "demo"
DEMO_USER = "csta_user"
DEMO_PASSWORD = "csta"


def default_csta_servers(
    plan: ExchangePlan, authentication: AuthMode = AuthMode.OFF
) -> list[CstaServerSettings]:
    """XML on the first LIM, TR/87 on the last (see the module docstring)."""
    lims = sorted(lim.number for lim in plan.lims)
    return [
        CstaServerSettings(
            lim=lims[0],
            server_type=ServerType.XML,
            port=XML_PORT,
            tls_port=TLS_PORT,
            web_port=WEB_PORT,
            authentication=authentication,
        ),
        CstaServerSettings(
            lim=lims[-1], server_type=ServerType.TR87, port=SIP_PORT, authentication=authentication
        ),
    ]


def empty_exchange_data() -> ExchangeData:
    """``--no-demo``: one LIM, no devices, the default CSTA servers (no admin account yet)."""
    plan = ExchangePlan(lims=[Lim(1, "LIM 1")])
    return ExchangeData(plan=plan, csta_servers=default_csta_servers(plan))


def demo_exchange_data() -> ExchangeData:
    """The demo exchange (README, "The demo numbers")."""
    plan = demo_plan()
    criteria = ApplicationCriteria(
        application_id=DEMO_APPLICATION,
        users=(UserCredential(DEMO_USER, hash_password(DEMO_PASSWORD)),),
    )
    return ExchangeData(
        plan=plan,
        csta_servers=default_csta_servers(plan, AuthMode.OPTIONAL),
        authentication=AuthenticationCriteria(applications=(criteria,)),
        web_accounts=[WebAccount(DEMO_USER, hash_password(DEMO_PASSWORD))],
    )


def ensure_exchange(path: str | Path, *, demo: bool = True) -> tuple[ExchangeData, bool]:
    """Create the directory; load ``exchange.json``, or write the demo (or, with
    ``demo=False``, the empty exchange) when there is none. Returns (data, created)."""
    directory = DataDirectory(path)
    directory.create()
    return directory.load_or_create(demo_exchange_data if demo else empty_exchange_data)


def ensure_demo(path: str | Path) -> ExchangeData:
    """The data of ``path``, creating the directory and the demo exchange if it has none."""
    return ensure_exchange(path, demo=True)[0]
