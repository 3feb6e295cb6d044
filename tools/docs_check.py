"""Re-run the transcripts of README.md and docs/*.md against a freshly started server and
compare what the commands print with what the documents say (``make docs-check``).

    .venv/bin/python tools/docs_check.py [FILE ...] [--list]

A *transcript* is a fenced code block whose lines starting with ``$ `` are commands; the lines
after a command, up to the next command, are what it prints (stdout and stderr together, as
on a terminal). A line ``[exit N]`` in the expected output is the command's exit status.
Each command runs with ``bash -c`` in a scratch directory that holds the server's data
directory (``mxone-data``) and links to the repository's ``docs/`` and ``tools/``, with the project's
``.venv/bin`` first on the ``PATH``: exactly what a reader who follows the document has.

Before comparing, both sides are normalised, so what differs from run to run does not count:
runs of spaces (table columns), certificate fingerprints, 16-hex-digit session IDs, client
port numbers (five digits after ``127.0.0.1:``), durations (``0.04 s``, ``in 4.11s``) and
date-times. An expected line ``...`` stands for any number of lines.

Each document gets its own server, started at its first transcript on the default ports
(8882, 8883, 8080, 5062, 8023, 8022) with a new data directory holding the demo exchange;
the documents' outputs show those ports. Once it has started, a hidden step gives its admin
login the password the documents use (``DOCS_ADMIN_PASSWORD``, with ``csta_admin_password``,
as a reader changes the random one the first start-up shows). Directives are HTML comments, invisible when the
document is rendered:

``<!-- docs-check: server ARGS -->``      (re)start a fresh server with extra twistd csta ARGS
``<!-- docs-check: restart -->``          restart it on the same data directory
``<!-- docs-check: run COMMAND -->``      a hidden step that must succeed (exit status 0)
``<!-- docs-check: background COMMAND -->``  a process kept running until the document ends
                                          (stopped by its PID); its first line of output is
                                          awaited: print one when it is ready
``<!-- docs-check: save NAME -->``        the next code block is written to the file NAME
``<!-- docs-check: skip REASON -->``      the next code block is not run, for REASON (e.g.
                                          the test that checks it instead)
``<!-- docs-check: commands -->``         the next code block is a script to paste: it runs
                                          with ``bash -e`` (``python3`` for a ``python``
                                          block) and must exit with status 0 without an API
                                          refusal (``"error":``) in its output

``--list`` prints, per document, the transcripts and the code blocks that look like commands
but are neither transcripts nor skipped: the ones no check covers yet.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PORTS = (8882, 8883, 8080, 5062, 8023, 8022)
COMMAND_TIMEOUT = 120.0
START_TIMEOUT = 30.0
STARTED = "csta: started"
#: The admin password the documents' examples use (``curl -u admin:...``, the shell login):
#: each fresh server gets it right after its first start, through ``csta_admin_password``
#: (the server itself makes a random one).
DOCS_ADMIN_PASSWORD = "Adm1n-secret"
DIRECTIVE = re.compile(r"<!--\s*docs-check:\s*(\w[\w-]*)\s*(.*?)\s*-->", re.S)
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)\s*$")
#: First words of a code block that a reader would type (``--list`` reports such blocks).
COMMANDS = re.compile(
    r"^(\$ )?(csta\b|csta_\w+|csta-sim|mxone_certificate|curl|python3?|\.venv/bin/|twistd|"
    r"openssl|telnet|ssh|pytest|make)"
)
NORMALISE = [
    (re.compile(r"(?:[0-9A-F]{2}:){15,}[0-9A-F]{2}"), "<fingerprint>"),
    (re.compile(r"\b[0-9a-f]{16}\b"), "<id>"),
    (re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d{5}\b"), r"\1:<port>"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d| UTC)?"), "<time>"),
    (re.compile(r"\b\d+(\.\d+)? ?s\b"), "<seconds>"),
    (re.compile(r"[ \t]+"), " "),
]


class CheckFailed(Exception):
    """A document says something the run does not: the message says where and how."""


@dataclass
class Block:
    doc: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str
    directives: list[tuple[str, str]] = field(default_factory=list)  # before this block

    @property
    def where(self) -> str:
        return f"{_shown(self.doc)}:{self.line}"

    @property
    def is_transcript(self) -> bool:
        return any(line.startswith("$ ") for line in self.text.splitlines())

    @property
    def skipped(self) -> bool:
        return any(name == "skip" for name, _ in self.directives)

    @property
    def is_script(self) -> bool:
        return any(name == "commands" for name, _ in self.directives)

    @property
    def looks_like_commands(self) -> bool:
        lines = [line for line in self.text.splitlines() if line.strip()]
        first = next((line for line in lines if not line.startswith("#")), "")
        return self.language in ("", "sh", "shell", "console", "bash") and bool(
            COMMANDS.match(first)
        )


def _shown(doc: Path) -> str:
    return str(doc.relative_to(ROOT)) if doc.is_relative_to(ROOT) else str(doc)


def blocks(doc: Path) -> Iterator[Block]:
    """The fenced code blocks of ``doc``, each with the directives written before it (and
    after the block before it)."""
    text = doc.read_text(encoding="utf-8")
    lines = text.splitlines()
    pending: list[tuple[str, str]] = []
    offset, index = 0, 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        start_offset = sum(len(line) + 1 for line in lines[:index])
        for directive in DIRECTIVE.finditer(text, offset, start_offset):
            pending.append((directive.group(1), directive.group(2)))
        end = index + 1
        while end < len(lines) and not lines[end].startswith(match.group(1)):
            end += 1
        body = "\n".join(lines[index + 1 : end])
        yield Block(doc, index + 1, match.group(2), body, pending)
        pending = []
        index = end + 1
        offset = sum(len(line) + 1 for line in lines[:index])


def normalise(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, replacement in NORMALISE:
            line = pattern.sub(replacement, line)
        out.append(line.strip())
    while out and not out[-1]:
        out.pop()
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` (normalised, ``...`` = any lines) against ``actual`` (normalised)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == head and matches(rest, actual[1:])


def commands(transcript: str) -> Iterator[tuple[str, list[str], int | None]]:
    """(command, expected output lines, expected exit status or None) per ``$`` line."""
    command: str | None = None
    expected: list[str] = []
    for line in transcript.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield _with_status(command, expected)
            command, expected = line[2:], []
        elif command is not None:
            expected.append(line)
    if command is not None:
        yield _with_status(command, expected)


def _with_status(command: str, expected: list[str]) -> tuple[str, list[str], int | None]:
    status = None
    kept = []
    for line in expected:
        found = re.fullmatch(r"\[exit (\d+)\]", line.strip())
        if found:
            status = int(found.group(1))
        else:
            kept.append(line)
    return command, kept, status


class Server:
    """``twistd -n csta`` in ``workdir`` on the default ports, stopped by its PID."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.process: subprocess.Popen | None = None
        self.args: list[str] = []
        self.log = workdir / "server.log"

    def start(self, args: list[str], *, fresh: bool) -> None:
        self.stop()
        if fresh:
            shutil.rmtree(self.workdir / "mxone-data", ignore_errors=True)
            self.args = args
        for port in PORTS:
            _require_free(port)
        command = [str(BIN / "twistd"), "-n", "--pidfile=", "csta", "--data", "mxone-data"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command + self.args,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not (_listening(8882) and STARTED in self.log.read_text(errors="replace")):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace").splitlines()[-15:]
                raise CheckFailed("the server did not start:\n  " + "\n  ".join(tail))
            time.sleep(0.1)
        if fresh:
            self._set_admin_password()

    def _set_admin_password(self) -> None:
        """The hidden step of every fresh server: the admin password the documents use,
        set as a reader sets theirs (the first run made a random one and logged it)."""
        command = [str(BIN / "csta_admin_password"), "-c", "--user", "admin"]
        command += ["--password", DOCS_ADMIN_PASSWORD, "--data", "mxone-data"]
        result = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        if result.returncode != 0 or "applied now" not in result.stdout:
            raise CheckFailed(f"setting the documents' admin password failed: {result.stderr}")

    def stop(self) -> None:
        if self.process is None:
            return
        _stop(self.process)
        self.process = None
        deadline = time.monotonic() + 10
        while any(_listening(port) for port in (8882, 8080)) and time.monotonic() < deadline:
            time.sleep(0.1)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _require_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise CheckFailed(
                f"port {port} is in use: the documents show the default ports, so stop what "
                "holds it (a server started by make run?) and check again"
            ) from None


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


class DocumentRun:
    """The transcripts of one document, in order, against one server."""

    def __init__(self, doc: Path, scratch: Path) -> None:
        self.doc = doc
        self.workdir = scratch / doc.stem
        self.workdir.mkdir(parents=True)
        (self.workdir / "docs").symlink_to(ROOT / "docs")
        (self.workdir / "tools").symlink_to(ROOT / "tools")
        self.env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        self.env.pop("PYTHONPATH", None)
        self.server = Server(self.workdir, self.env)
        self.background: list[subprocess.Popen] = []
        self.save_next: str | None = None
        self.checked = 0

    def close(self) -> None:
        for process in self.background:
            _stop(process)
        self.server.stop()

    def run(self) -> int:
        try:
            for block in blocks(self.doc):
                self.block(block)
        finally:
            self.close()
        return self.checked

    def block(self, block: Block) -> None:
        for name, argument in block.directives:
            self.directive(block, name, argument)
        if self.save_next is not None:
            (self.workdir / self.save_next).write_text(block.text + "\n", encoding="utf-8")
            self.save_next = None
            return
        if block.skipped or not (block.is_transcript or block.is_script):
            return
        if self.server.process is None:
            self.server.start([], fresh=True)
        if block.is_script:
            self.script(block)
            return
        for command, expected, status in commands(block.text):
            self.command(block, command, expected, status)

    def directive(self, block: Block, name: str, argument: str) -> None:
        if name == "server":
            self.server.start(argument.split(), fresh=True)
        elif name == "restart":
            self.server.start([], fresh=False)
        elif name == "run":
            result = self.shell(argument)
            if result.returncode != 0:
                raise CheckFailed(f"{block.where}: hidden step failed: {argument}\n{result.stdout}")
        elif name == "background":
            self.start_background(block, argument)
        elif name == "save":
            self.save_next = argument
        elif name == "skip" and not argument:
            raise CheckFailed(f"{block.where}: docs-check skip needs a reason")
        elif name not in ("skip", "commands"):
            raise CheckFailed(f"{block.where}: unknown docs-check directive {name!r}")

    def script(self, block: Block) -> None:
        if block.language == "python":
            result = self.run_args([sys.executable, "-c", block.text])
        else:
            result = self.run_args(["bash", "-e", "-c", block.text])
        self.checked += 1
        if result.returncode != 0 or '"error":' in result.stdout:
            raise CheckFailed(
                f"{block.where}: the commands failed (exit status {result.returncode}):\n"
                + result.stdout
            )

    def shell(self, command: str) -> subprocess.CompletedProcess:
        return self.run_args(["bash", "-c", command])

    def run_args(self, args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            args,
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )

    def start_background(self, block: Block, command: str) -> None:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=self.workdir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.background.append(process)
        ready = process.stdout.readline() if process.stdout else ""
        if not ready:
            raise CheckFailed(f"{block.where}: background step printed nothing: {command}")

    def command(self, block: Block, command: str, expected: list[str], status: int | None) -> None:
        result = self.shell(command)
        actual = result.stdout.splitlines()
        self.checked += 1
        problems = []
        if status is not None and result.returncode != status:
            problems.append(f"exit status {result.returncode}, the document says {status}")
        want, got = normalise(expected), normalise(actual)
        if not matches(want, got):  # the diff shows the lines as compared (normalised)
            diff = difflib.unified_diff(want, got, "the document", "the run", lineterm="")
            problems.append("\n".join(diff))
        if problems:
            raise CheckFailed(f"{block.where}: $ {command}\n" + "\n".join(problems))


def documents(names: list[str]) -> list[Path]:
    if names:
        return [Path(name).resolve() for name in names]
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def list_coverage(docs: list[Path]) -> None:
    for doc in docs:
        for block in blocks(doc):
            if (block.is_transcript or block.is_script) and not block.skipped:
                print(f"checked    {block.where}")
            elif block.skipped:
                reason = next(arg for name, arg in block.directives if name == "skip")
                print(f"skipped    {block.where}: {reason}")
            elif block.looks_like_commands:
                first = block.text.strip().splitlines()[0]
                print(f"unchecked  {block.where}: {first[:70]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="documents (default: README.md, docs/*.md)")
    parser.add_argument("--list", action="store_true", help="what is checked, skipped, not")
    args = parser.parse_args(argv)
    docs = documents(args.files)
    if args.list:
        list_coverage(docs)
        return 0
    failures = 0
    with tempfile.TemporaryDirectory(prefix="docs-check-") as scratch:
        for doc in docs:
            if not any((b.is_transcript or b.is_script) and not b.skipped for b in blocks(doc)):
                continue
            try:
                count = DocumentRun(doc, Path(scratch)).run()
            except CheckFailed as failure:
                failures += 1
                print(f"FAIL {failure}\n")
            except subprocess.TimeoutExpired as expired:
                failures += 1
                print(f"FAIL {_shown(doc)}: {expired.cmd} ran over {expired.timeout} s\n")
            else:
                print(f"ok   {_shown(doc)}: {count} commands as documented")
    if failures:
        print(f"docs-check: {failures} document(s) differ from the run")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
