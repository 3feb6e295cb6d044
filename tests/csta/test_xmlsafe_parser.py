"""xmlsafe.parse_document: hostile documents are refused quickly and without file access."""

from __future__ import annotations

import time

import pytest

from cstaserver.csta.xmlsafe import XmlRejected, parse_document

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<MakeCall><callingDevice>&xxe;</callingDevice></MakeCall>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE MakeCall SYSTEM "http://192.0.2.1/evil.dtd"><MakeCall/>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><x/>"""

UTF16_XXE = XXE.decode().replace('version="1.0"?>', 'version="1.0" encoding="UTF-16"?>')


def _rejected(data: bytes, **kwargs: int) -> XmlRejected:
    started = time.perf_counter()
    with pytest.raises(XmlRejected) as info:
        parse_document(data, **kwargs)
    assert time.perf_counter() - started < 0.5
    return info.value


@pytest.mark.parametrize(
    "data",
    [XXE, LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY, UTF16_XXE.encode("utf-16")],
    ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity", "utf16-xxe"],
)
def test_dtd_documents_are_refused(data: bytes) -> None:
    assert "DTD" in _rejected(data).reason


def test_xxe_never_reads_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("file opened")

    monkeypatch.setattr(builtins, "open", no_open)
    _rejected(XXE)


def test_deep_nesting_is_refused() -> None:
    deep = b"<a>" * 65 + b"x" + b"</a>" * 65
    assert "deeper" in _rejected(deep).reason
    assert parse_document(b"<a>" * 64 + b"x" + b"</a>" * 64) is not None


def _nested(depth: int, declaration: str = "") -> str:
    return declaration + "<a>" * depth + "x" + "</a>" * depth


@pytest.mark.parametrize(
    ("declaration", "encoding"),
    [
        ("", "utf-8"),
        ('<?xml version="1.0" encoding="UTF-8"?>', "utf-8"),
        ("<?xml version='1.0' encoding='us-ascii'?>", "ascii"),
        ('<?xml version="1.0" encoding="ISO-8859-1"?>', "latin-1"),
        ('<?xml version="1.0" encoding="UTF-16"?>', "utf-16"),
        ('<?xml version="1.0" encoding="UTF-16LE"?>', "utf-16-le"),
    ],
    ids=["no-declaration", "utf-8", "ascii", "latin-1", "utf-16-bom", "utf-16le-no-bom"],
)
def test_depth_limit_in_every_encoding(declaration: str, encoding: str) -> None:
    """The byte-level shortcuts (UTF-8 only) and the tree walk agree at the limit."""
    assert parse_document(_nested(64, declaration).encode(encoding)) is not None
    deep = _nested(65, declaration).encode(encoding)
    assert "deeper" in _rejected(deep).reason


def test_doctype_refused_whatever_the_declaration_says() -> None:
    # a version attribute that looks like an encoding must not fool the UTF-8 shortcut
    tricky = b'<?xml version="utf-8" encoding="UTF-16"?><!DOCTYPE a><a/>'
    _rejected(tricky.decode().encode("utf-16"))
    _rejected(b'<?xml version="1.0" encoding="utf-8"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')


def test_very_deep_nesting_is_refused_fast() -> None:
    _rejected(b"<a>" * 5000 + b"</a>" * 5000, max_bytes=100_000)


def test_oversize_is_refused_before_parsing() -> None:
    big = b"<a>" + b"x" * 70_000 + b"</a>"
    assert "exceeds" in _rejected(big).reason
    assert parse_document(big, max_bytes=80_000).text == "x" * 70_000


@pytest.mark.parametrize(
    "data",
    [b"", b"   ", b"garbage", b"<a>", b"<a></b>", b"\x00\x01\x02\xff", b"<?xml version='1.0'?>"],
)
def test_garbage_is_refused(data: bytes) -> None:
    _rejected(data)


def test_non_bytes_are_refused() -> None:
    with pytest.raises(XmlRejected):
        parse_document("<a/>")  # type: ignore[arg-type]


def test_with_and_without_declaration_and_text_kept() -> None:
    plain = parse_document(b"<MakeCall><x> 1001 </x></MakeCall>")
    declared = parse_document(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<MakeCall><x> 1001 </x></MakeCall>'
    )
    assert plain[0].text == declared[0].text == " 1001 "


def test_other_declared_encodings() -> None:
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><a>Åke</a>'.encode("latin-1")
    assert parse_document(latin).text == "Åke"
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><a>Åke</a>'.encode("utf-16")
    assert parse_document(utf16).text == "Åke"


def test_comments_and_processing_instructions_are_dropped() -> None:
    root = parse_document(b"<a><!-- c --><?pi x?><b/></a>")
    assert [child.tag for child in root] == ["b"]


def test_bytearray_and_memoryview() -> None:
    assert parse_document(bytearray(b"<a/>")).tag == "a"
    assert parse_document(memoryview(b"<a/>")).tag == "a"
