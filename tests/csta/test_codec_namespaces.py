"""namespaces.edition_of: every form of an ECMA-323 edition's namespace clients use."""

from __future__ import annotations

import pytest

from cstaserver.csta import namespaces
from cstaserver.csta.namespaces import Edition, edition_of, namespace_of


@pytest.mark.parametrize(
    ("uri", "edition"),
    [
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed2", Edition.ED2),
        ("http://www.ecma.ch/standards/ecma-323/csta/ed2", Edition.ED2),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed3", Edition.ED3),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed4", Edition.ED4),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed5", Edition.ED5),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed6", Edition.ED6),
        ("http://www.ecma.ch/standards/ecma-323/csta/ed6", Edition.ED6),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed2/priv1", Edition.ED2),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv1", Edition.ED3),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed3/priv9", Edition.ED3),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed3/privA", Edition.ED3),
        ("", None),
        (None, None),
        ("3.0", None),
        (namespaces.APPL_SESSION, None),
        (namespaces.LYNC_RCC_EXTENSION, None),
        (namespaces.AVAYA_CSTA, None),
        ("http://www.ecma-international.org/standards/ecma-323/csta/ed7", None),
    ],
)
def test_edition_of(uri: str | None, edition: Edition | None) -> None:
    assert edition_of(uri) is edition


def test_canonical_namespaces_and_default() -> None:
    for edition in Edition:
        assert edition_of(namespace_of(edition)) is edition
    assert namespaces.DEFAULT_NAMESPACE == namespaces.ED3
    assert Edition.ED4 > Edition.ED3
