"""``twistd -n csta`` options (README "Options")."""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.python import usage
from twisted.scripts.twistd import ServerOptions

from cstaserver.app.options import Options, RunSettings
from cstaserver.logformat import JSON_OBSERVER_NAME


def parse(*args: str) -> Options:
    options = Options()
    options.parseOptions(list(args))
    return options


def test_defaults() -> None:
    options = parse()
    assert options.settings == RunSettings()
    assert options.settings == RunSettings(
        data=Path("./mxone-data"),
        interface="127.0.0.1",
        xml_port=None,
        tls_port=None,
        sip_port=None,
        web_port=None,
        admin_port=8023,
        admin_ssh_port=8022,
        demo=True,
        log_format="text",
    )
    assert options["data"] == "./mxone-data"
    assert options["no-demo"] is False
    assert options["xml-port"] is None and options["admin-port"] == 8023


def test_every_option() -> None:
    options = parse(
        "--data",
        "/srv/mx",
        "--interface",
        "0.0.0.0",
        "--xml-port",
        "9882",
        "--tls-port",
        "9883",
        "--sip-port",
        "0",
        "--web-port",
        "9080",
        "--admin-port",
        "0",
        "--admin-ssh-port",
        "9022",
        "--no-demo",
        "--log-format",
        "json",
    )
    assert options.settings == RunSettings(
        data=Path("/srv/mx"),
        interface="0.0.0.0",
        xml_port=9882,
        tls_port=9883,
        sip_port=0,
        web_port=9080,
        admin_port=0,
        admin_ssh_port=9022,
        demo=False,
        log_format="json",
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("::", "::"),
        ("0.0.0.0", "0.0.0.0"),
        ("::1", "::1"),
        ("0:0::0:1", "::1"),
        ("10.1.2.3", "10.1.2.3"),
    ],
)
def test_interface_accepts_addresses(given: str, expected: str) -> None:
    assert parse("--interface", given).settings.interface == expected


PORT_OPTIONS = [
    "--xml-port",
    "--tls-port",
    "--sip-port",
    "--web-port",
    "--admin-port",
    "--admin-ssh-port",
]


@pytest.mark.parametrize("option", PORT_OPTIONS)
@pytest.mark.parametrize("value", ["-1", "65536", "http", "", "8o82", "1.5"])
def test_bad_port(option: str, value: str) -> None:
    with pytest.raises(usage.UsageError) as caught:
        parse(option, value)
    message = str(caught.value)
    assert message.startswith(f"{option}: ")
    assert "is not a port number (0-65535)" in message
    assert "\n" not in message


@pytest.mark.parametrize("option", PORT_OPTIONS)
def test_port_bounds(option: str) -> None:
    for value in ("0", "65535", "1"):
        parse(option, value, *(["--admin-port", "1234"] if option != "--admin-port" else []))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interface", "localhost"], "--interface: 'localhost' is not an IP address"),
        (["--interface", "127.0.0.256"], "--interface: '127.0.0.256' is not an IP address"),
        (["--interface", ""], "--interface: '' is not an IP address"),
        (["--log-format", "xml"], "--log-format: 'xml' is not one of: text, json"),
        (["--web-auth", "ldap"], "--web-auth: 'ldap' is not one of: file, pam"),
        (["--data", ""], "--data: the directory name must not be empty"),
        (
            ["--xml-port", "9000", "--tls-port", "9000"],
            "--tls-port 9000: the same port as --xml-port",
        ),
        (["--web-port", "8023"], "--admin-port 8023: the same port as --web-port"),
        (["--colour", "blue"], "option --colour not recognized"),
        (["--xml-port"], "--xml-port requires argument"),
        (["extra"], ""),
    ],
)
def test_bad_values(args: list[str], message: str) -> None:
    with pytest.raises(usage.UsageError) as caught:
        parse(*args)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_port_zero_may_repeat() -> None:
    settings = parse("--xml-port", "0", "--tls-port", "0", "--admin-port", "0").settings
    assert (settings.xml_port, settings.tls_port, settings.admin_port) == (0, 0, 0)


def test_help_lists_every_option() -> None:
    text = str(Options())
    for option in [
        "--data=",
        "--interface=",
        "--xml-port=",
        "--tls-port=",
        "--sip-port=",
        "--web-port=",
        "--admin-port=",
        "--admin-ssh-port=",
        "--no-demo",
        "--log-format=",
        "--web-auth=",
    ]:
        assert option in text


@pytest.mark.parametrize("mode", ["file", "pam"])
def test_web_auth_reaches_the_run_settings(mode: str) -> None:
    assert parse("--web-auth", mode).settings.web_auth == mode
    assert parse().settings.web_auth == "file"


# -- --log-format json under twistd: it sets twistd's --logger ----------------------------


def twistd(*args: str) -> ServerOptions:
    config = ServerOptions()
    config.parseOptions(list(args))
    return config


def test_json_sets_twistd_logger() -> None:
    from cstaserver.logformat import json_stdout_observer

    config = twistd("-n", "--pidfile=", "csta", "--log-format", "json")
    assert config["logger"] is json_stdout_observer
    assert JSON_OBSERVER_NAME == "cstaserver.logformat.json_stdout_observer"


def test_text_log_is_twistds_own_behind_the_quiet_filter(tmp_path: Path) -> None:
    from twisted.logger import LogLevel

    from cstaserver.logformat import quiet_text_observer

    log_file = tmp_path / "server.log"
    config = twistd("--logfile", str(log_file), "csta")
    assert config["logger"] is quiet_text_observer
    observer = config["logger"]()  # twistd's --logfile observer, filtered

    def emit(level: LogLevel, namespace: str, text: str) -> None:
        event = {"log_level": level, "log_namespace": namespace, "log_format": text}
        observer({**event, "log_time": 0.0, "log_system": "-"})

    emit(LogLevel.info, "cstaserver.app.endpoints", "listening: xml on 127.0.0.1:8882")
    emit(LogLevel.debug, "twisted.conch.ssh.transport.SSHServerTransport", "NEW KEYS")
    emit(LogLevel.info, "twisted.conch.ssh.session", "requesting shell")
    emit(LogLevel.info, "twisted.internet.protocol.Factory", "Starting factory <Factory>")
    emit(LogLevel.info, "twisted.protocols.amp", "AMP connection established")
    emit(LogLevel.info, "cstaserver.admin.sshsession.QuietServerTransport", "connection lost")
    emit(LogLevel.error, "twisted.conch.ssh.transport", "Got remote error, code 2")
    observer._observer._outFile.flush()  # the LogFile behind twistd's text observer
    text = log_file.read_text()
    assert "listening: xml on 127.0.0.1:8882" in text
    assert "Got remote error, code 2" in text  # an error always shows
    chatty = ("NEW KEYS", "requesting shell", "Starting factory", "AMP connection", "lost")
    for chatter in chatty:
        assert chatter not in text


def test_explicit_twistd_logger_wins() -> None:
    config = twistd(
        "-n", "--logger", "twisted.logger.textFileLogObserver", "csta", "--log-format", "json"
    )
    from twisted.logger import textFileLogObserver

    assert config["logger"] is textFileLogObserver


@pytest.mark.parametrize(
    ("twistd_args", "message"),
    [
        ([], "--log-format json writes to stdout: run twistd -n"),
        (["-n", "--logfile", "x.log"], "--log-format json writes to stdout: drop twistd --logfile"),
    ],
)
def test_json_needs_stdout(
    twistd_args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        twistd(*twistd_args, "csta", "--log-format", "json")
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        f"twistd csta: {message}\n(twistd csta --help lists the options)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--xml-port", "abc"], "--xml-port: 'abc' is not a port number (0-65535)"),
        (["--colour", "blue"], "option --colour not recognized"),
    ],
)
def test_twistd_option_error_is_one_line_and_a_hint(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        twistd("-n", "csta", *args)
    assert caught.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""  # no usage text before the error
    assert out.err == f"twistd csta: {message}\n(twistd csta --help lists the options)\n"


def test_create_reaches_the_run_settings() -> None:
    assert parse().settings.create is False
    assert parse("--create").settings.create is True
    assert "--create" in str(Options())
