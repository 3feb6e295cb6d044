"""The administrator's commands on the data directory, no server running (docs/admin.md):
each command's happy path, and wrong input giving one line on stderr, exit status 2 and the
exchange data unchanged (file bytes compared)."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import pytest
from cryptography import x509

from cstaserver.certificates import CertificateStore, self_signed
from cstaserver.config import AuthMode, DataDirectory, LineReplacement, ServerType
from cstaserver.config.passwords import verify_password
from tests.admin.admin_harness import run, stored


def test_csta_print_offline(data: Path) -> None:
    status, out, err = run("csta", data, "-p")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "CSTA server: not running (stored settings)"
    assert lines[2].split() == [
        "LIM", "TYPE", "PORT", "TLS-PORT", "WEB-PORT", "AUTHENTICATION", "LISTENING",
        "CLIENTS", "SESSIONS", "TLS",
    ]  # fmt: skip
    assert lines[3].split()[:7] == ["1", "xml", "8882", "8883", "8080", "optional", "no"]
    assert lines[4].split()[:7] == ["2", "tr87", "5062", "-", "-", "optional", "no"]


def test_csta_initiate_keeps_what_is_left_out(data: Path) -> None:
    status, out, err = run("csta", data, "-i", "--authentication", "mandatory")
    assert (status, err) == (0, "")
    assert "CSTA server xml on LIM 1" in out and "changed, saved" in out
    server = DataDirectory(data).load().csta_server(1, ServerType.XML)
    assert server.authentication is AuthMode.MANDATORY
    assert (server.port, server.tls_port, server.web_port) == (8882, 8883, 8080)


def test_csta_initiate_sets_and_print_shows_every_server_setting(data: Path) -> None:
    status, out, err = run(
        "csta", data, "-i", "--type", "tr87", "--system-status-on-connect", "yes",
        "--line-replacement", "no", "--out-of-dialog-info", "yes", "--session-expires", "none",
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out == (
        "CSTA server tr87 on LIM 2: port 5062, TLS port none, authentication optional, "
        "system status on connect yes, line replacement off, out-of-dialog INFO yes, "
        "Session-Expires none: changed, saved, applied when the server starts\n"
    )
    server = DataDirectory(data).load().csta_server(2, ServerType.TR87)
    assert server.system_status_on_connect and server.out_of_dialog_info
    assert (server.line_replacement, server.session_expires) == (LineReplacement.OFF, None)
    run("csta", data, "-i", "--system-status-on-connect", "on")
    status, out, _ = run("csta", data, "-p")
    settings = out[out.index("Settings (csta -i)") :].splitlines()[1:]
    assert [line.split(None, 2) for line in settings if line.strip()] == [
        ["LIM", "TYPE", "SETTING                   VALUE"],
        ["1", "xml", "system status on connect  yes"],
        ["2", "tr87", "system status on connect  yes"],
        ["2", "tr87", "line replacement          off"],
        ["2", "tr87", "out-of-dialog INFO        yes"],
        ["2", "tr87", "Session-Expires           none"],
    ]


def test_csta_remove_all_must_be_said(data: Path) -> None:
    status, out, _ = run("csta", data, "-e", "--all")
    assert status == 0
    assert out.count(": removed, saved") == 2
    assert DataDirectory(data).load().csta_servers == []


def test_csta_initiate_new_server_and_remove(data: Path) -> None:
    status, out, _ = run(
        "csta", data, "-i", "--type", "xml", "--lim", "2", "--port", "9882",
        "--tls-port", "none", "--web-port", "none",
    )  # fmt: skip
    assert status == 0 and "initiated" in out
    assert DataDirectory(data).load().csta_server(2, ServerType.XML).port == 9882
    status, out, _ = run("csta", data, "-e", "--type", "xml", "--lim", "2")
    assert status == 0 and "CSTA server xml on LIM 2: removed" in out
    assert DataDirectory(data).load().csta_server(2, ServerType.XML) is None


@pytest.mark.parametrize(
    ("program", "argv", "message"),
    [
        ("csta", ["-i", "--port", "abc"], "'abc' is not a port number"),
        ("csta", ["-i", "--port", "70000"], "70000 is not a port number"),
        ("csta", ["-i", "--bogus"], "unrecognized arguments: --bogus"),
        ("csta", ["-i", "--lim", "7"], "LIM 7 does not exist (LIMs: 1, 2)"),
        ("csta", ["-i", "--port", "5062"], "port 5062 is used twice"),
        ("csta", ["-i", "--type", "tr87", "--web-port", "8081"], "only an XML server has a web port"),
        ("csta", ["-i", "--type", "sip"], "'sip' is not one of xml|tr87"),
        ("csta", ["-i", "--authentication", "always"], "is not one of off|optional|mandatory"),
        ("csta", ["-e", "--port", "1"], "--port does not go with this action"),
        ("csta", ["-e", "--type", "xml", "--lim", "2"], "no CSTA server xml on LIM 2"),
        ("csta", [], "say what to do: -i, -e or -p"),
        ("csta", ["-e"], "say which CSTA server to remove"),
        ("csta", ["-e", "--all", "--type", "xml"], "--all does not go with --type or --lim"),
        ("csta", ["-i", "--all"], "--all does not go with this action"),
        ("csta", ["-i", "--system-status-on-connect", "maybe"], "'maybe' is not yes or no"),
        ("csta", ["-i", "--line-replacement", "no"], "--line-replacement: only a TR/87 server"),
        ("csta", ["-i", "--session-expires", "600"], "--session-expires: only a TR/87 server"),
        ("csta", ["-i", "--type", "tr87", "--session-expires", "60"], "60 is not a number of seconds (or none)"),
        ("csta", ["-i", "--type", "tr87", "--session-expires", "x"], "'x' is not a number of seconds"),
        ("csta", ["-i", "--type", "tr87", "--out-of-dialog-info", ""], "'' is not yes or no"),
        ("csta", ["-p", "--session-expires", "600"], "--session-expires does not go with this"),
        ("csta", ["-i", "-e"], "not allowed with argument"),
        ("csta_authentication", ["-c", "--application", "x"], "no authentication criteria for application 'x'"),
        ("csta_authentication", ["-i", "--application", "x", "--user", "u"], "user 'u' needs a password"),
        ("csta_authentication", ["-i", "--application", "a b"], "is not an application ID"),
        ("csta_authentication", ["-i", "--max-duration", "-5"], "not a number of seconds"),
        ("csta_authentication", ["-e", "--application", "nope"], "no authentication criteria for application 'nope'"),
        ("csta_authentication", ["-p", "--user", "x"], "--user does not go with this action"),
        ("mxone_certificate", ["--install", "/nonexistent.pem", "/nonexistent.key"], "cannot read the key file"),
        ("mxone_certificate", ["-p", "--self-signed"], "not allowed with argument"),
    ],
)  # fmt: skip
def test_wrong_input_changes_nothing(
    program: str, argv: list[str], message: str, data: Path
) -> None:
    before = stored(data)
    status, out, err = run(program, data, *argv)
    assert status == 2
    assert out == ""
    assert err.startswith(f"{program}: ") and err.count("\n") == 1 and err.endswith("\n")
    assert message in err
    assert stored(data) == before


def test_port_in_use_offline(data: Path) -> None:
    before = stored(data)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        busy = holder.getsockname()[1]
        status, _, err = run("csta", data, "-i", "--port", str(busy))
    assert status == 2 and f"port {busy} is in use" in err
    assert stored(data) == before


def test_missing_data_directory(tmp_path: Path) -> None:
    status, _, err = run("csta", tmp_path / "nothing", "-p")
    assert status == 2 and "no exchange data" in err


def test_criteria_initiate_change_print_remove(data: Path) -> None:
    status, out, _ = run(
        "csta_authentication", data, "-i", "--application", "crm", "--user", "bob",
        "--password", "s3cret", "--max-duration", "600",
    )  # fmt: skip
    assert status == 0 and "application crm: users bob, max duration 600 s" in out
    criteria = DataDirectory(data).load().authentication.application("crm")
    assert verify_password("s3cret", criteria.users[0].password_hash)
    assert b"s3cret" not in stored(data)
    status, out, _ = run(
        "csta_authentication", data, "-c", "--application", "crm", "--password", "n3w"
    )
    assert status == 0
    criteria = DataDirectory(data).load().authentication.application("crm")
    assert verify_password("n3w", criteria.users[0].password_hash) and criteria.max_duration == 600
    status, out, _ = run("csta_authentication", data, "-p")
    assert status == 0 and "s3cret" not in out and "n3w" not in out and "scrypt" not in out
    rows = [line.split() for line in out.splitlines()]
    assert ["crm", "bob", "600"] in rows and ["demo", "csta_user", "no", "limit"] in rows
    status, out, _ = run("csta_authentication", data, "-e", "--application", "crm")
    assert status == 0 and "crm: removed" in out
    assert DataDirectory(data).load().authentication.application("crm") is None


def test_certificates(data: Path, tmp_path: Path) -> None:
    status, out, _ = run("mxone_certificate", data, "-p")
    assert status == 0 and out.startswith("no certificate installed")
    status, out, _ = run("mxone_certificate", data, "--self-signed", "--cn", "pbx.example")
    assert status == 0 and "CN=pbx.example" in out
    assert (data / "tls" / "server.pem").stat().st_mode & 0o777 == 0o600
    bundle = self_signed("other.example")
    (tmp_path / "cert.pem").write_bytes(bundle.certificate_pem)
    (tmp_path / "key.pem").write_bytes(bundle.key_pem)
    (tmp_path / "wrong.pem").write_bytes(self_signed("x").key_pem)
    installed = (data / "tls" / "server.pem").read_bytes()
    status, _, err = run(
        "mxone_certificate",
        data,
        "--install",
        str(tmp_path / "cert.pem"),
        str(tmp_path / "wrong.pem"),
    )
    assert status == 2 and "does not match" in err
    assert (data / "tls" / "server.pem").read_bytes() == installed
    status, out, _ = run(
        "mxone_certificate",
        data,
        "--install",
        str(tmp_path / "cert.pem"),
        str(tmp_path / "key.pem"),
    )
    assert status == 0 and "CN=other.example" in out
    status, out, _ = run("mxone_certificate", data, "-p")
    assert "CN=other.example" in out and "fingerprint:" in out


def test_certificate_export_gives_what_a_client_trusts_and_never_the_key(data: Path) -> None:
    status, out, err = run("mxone_certificate", data, "--export")
    assert (status, out) == (2, "")
    assert err == f"mxone_certificate: no certificate installed ({data / 'tls' / 'server.pem'})\n"
    run("mxone_certificate", data, "--self-signed", "--cn", "pbx.example")
    status, out, err = run("mxone_certificate", data, "--export")
    assert (status, err) == (0, "")
    assert out.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in out
    installed = CertificateStore(data).load()
    assert out.encode() == installed.certificate_pem
    assert "CN=pbx.example" in x509.load_pem_x509_certificate(out.encode()).subject.rfc4514_string()


def test_help(data: Path) -> None:
    for program in ("csta", "csta_authentication", "mxone_certificate"):
        status, out, err = run(program, data, "-h")
        assert status == 0 and out.startswith("usage: ") and err == ""


def test_no_terminal_no_values_uses_current(data: Path) -> None:
    before = DataDirectory(data).load()
    status, out, _ = run("csta", data, "-i")
    assert status == 0 and "unchanged" in out
    assert DataDirectory(data).load() == before


def test_a_data_directory_too_deep_for_a_unix_socket_without_a_server(tmp_path):
    """csta -p on a data directory whose control socket path is too long for a UNIX socket,
    with no server running (its lock is free): the data directory is read, no note, no
    traceback from the socket layer."""

    from cstaserver.admin.commands import console_main
    from cstaserver.admin.control import MAX_SOCKET_PATH
    from cstaserver.config import DataDirectory, demo_exchange_data

    deep = tmp_path / ("d" * (MAX_SOCKET_PATH + 5))
    directory = DataDirectory(deep)
    directory.create()
    directory.save(demo_exchange_data())
    (deep / "control.sock").touch()  # as left by a server that could not listen there
    (deep / "server.lock").write_text("999999999\n")  # left by a server that is gone
    stdout, stderr = io.StringIO(), io.StringIO()
    status = console_main("csta", ["-p", "--data", str(deep)], stdout=stdout, stderr=stderr)
    assert (status, stderr.getvalue()) == (0, "")
    assert "xml" in stdout.getvalue()
