"""The console at ``/`` in a real browser (docs/console.md): headless Chromium driven by
selenium against the whole server, in process (``build_service`` with every listener on a free
loopback port).

The server runs on the reactor of the test; every call to the browser blocks, so each runs in
a thread (:meth:`ConsoleTests.ui`) while the reactor serves the page, the JSON API and the
event stream. Each test starts its own browser and stops it (chromedriver and Chromium, by
their PIDs) before the server stops. Without Chromium, chromedriver or selenium the tests are
skipped with the reason; ``make test`` installs them (``make browser-deps``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from twisted.internet import reactor as global_reactor
from twisted.internet import tcp, threads
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.trial import unittest

from cstaserver.api.events import EventStreamProtocol
from cstaserver.app.options import RunSettings
from cstaserver.app.root import CstaRoot, build_service
from cstaserver.pbx.simulator import Simulator
from tests.admin.admin_harness import ADMIN, demo_data
from tests.xmlproto.xml_client import Req, XmlClient, settle

#: Seconds the page has to show a change; a step that takes longer fails.
WAIT = 10.0
#: Seconds Chromium has to load a page.
PAGE_LOAD = 20.0
#: Seconds the server's connections from a stopped browser have to close.
CLOSE_WAIT = 5.0
#: Seconds the browser's processes have to end after it quit, before they are killed.
QUIT_GRACE = 0.5
WEB = ("csta_user", "csta")
T = TypeVar("T")

# -- the browser ----------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """The PIDs of ``pid``'s children (Linux /proc), none once it has ended."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/task/{task}/children").read_text()
                found.extend(int(word) for word in text.split())
    return found


def _descendants(pid: int) -> list[int]:
    """``pid``'s children, theirs and so on (at most 500 processes)."""
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 500:
        for child in _children(todo.pop()):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def _mentioning(marker: str) -> list[int]:
    """The PIDs of the processes whose command line holds ``marker``: Chromium's crash
    handlers leave its process tree, and name the directory they were given."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            with contextlib.suppress(OSError):
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class Browser:
    """Headless Chromium under chromedriver, with the PIDs to stop: chromedriver's and those
    of the processes it started."""

    def __init__(self, driver: Any, service: Any, profile: Path) -> None:
        self.driver = driver
        self.service = service
        self.profile = profile
        self.downloads = profile / "downloads"
        self.driver_pid: int = service.process.pid
        self.pids: list[int] = _descendants(self.driver_pid)
        self.stopped = False

    @classmethod
    def start(cls, chromium: str, chromedriver: str, profile: Path) -> Browser:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        downloads = profile / "downloads"
        downloads.mkdir(parents=True)
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for argument in (
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,900",
            f"--user-data-dir={profile / 'profile'}",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # script errors
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
        # Chromium's configuration and crash reports in the test's directory, not in $HOME
        environment = dict(os.environ, XDG_CONFIG_HOME=str(profile / "config"))
        environment["XDG_CACHE_HOME"] = str(profile / "cache")
        service = Service(
            executable_path=chromedriver, log_output=str(profile / "driver.log"), env=environment
        )
        try:
            driver = webdriver.Chrome(options=options, service=service)
        except BaseException:
            for pid in _mentioning(str(profile)):  # whatever it left behind
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise
        try:
            driver.set_page_load_timeout(PAGE_LOAD)
            driver.set_script_timeout(WAIT)
            return cls(driver, service, profile)
        except BaseException:
            driver.quit()
            raise

    def stop(self) -> None:
        """Quit the browser; whatever is still running then is killed by its PID."""
        if self.stopped:
            return
        self.stopped = True
        pids = [*self.pids, *_descendants(self.driver_pid), self.driver_pid]
        pids += [pid for pid in _mentioning(str(self.profile)) if pid not in pids]
        try:
            self.driver.quit()  # closes Chromium, then stops chromedriver
        except Exception:  # noqa: BLE001 - the PIDs below are the way out
            pass
        deadline = time.monotonic() + QUIT_GRACE
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in pids:  # Chromium's zygotes linger for a second or two after it quits
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _browser_binaries() -> tuple[str, str] | str:
    """(chromium, chromedriver), or why not."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        missing = " and ".join(
            name
            for name, path in (("chromium", chromium), ("chromedriver", chromedriver))
            if path is None
        )
        return f"{missing} not installed (make browser-deps installs chromium chromium-driver)"
    return chromium, chromedriver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """A headless Chromium for one test, stopped by its PIDs afterwards; the test is skipped
    with the reason when there is none to start."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    from selenium.common.exceptions import WebDriverException

    binaries = _browser_binaries()
    if isinstance(binaries, str):
        pytest.skip(binaries)
    try:
        started = Browser.start(*binaries, tmp_path)
    except WebDriverException as error:
        pytest.skip(f"Chromium could not be started: {error.msg}")
    try:
        yield started
    finally:
        started.stop()


# -- the page ---------------------------------------------------------------------------------


class Console:
    """The console page as a person uses it; every method blocks (run it in a thread)."""

    def __init__(self, browser: Browser, url: str) -> None:
        self.driver = browser.driver
        self.url = url

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def texts(self, css: str) -> list[str]:
        from selenium.webdriver.common.by import By

        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def wait(self, what: str, condition: Callable[[], Any]) -> Any:
        """``condition()``'s first true value within :data:`WAIT` seconds, else a failure
        saying ``what`` was not seen (and what the stream said meanwhile)."""
        from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        def check(_driver: Any) -> Any:
            try:
                return condition()
            except StaleElementReferenceException:  # a row re-rendered under us
                return False

        try:
            return WebDriverWait(self.driver, WAIT, poll_frequency=0.05).until(check)
        except TimeoutException:
            stream = self.find("#stream").text
            raise AssertionError(f"not seen within {WAIT} s: {what} (stream: {stream})") from None

    def open(self) -> None:
        self.driver.get(self.url)

    def log_in(self, web: tuple[str, str], admin: tuple[str, str] | None = None) -> None:
        for field, value in (
            ("#web-user", web[0]),
            ("#web-password", web[1]),
            ("#admin-user", admin[0] if admin else ""),
            ("#admin-password", admin[1] if admin else ""),
        ):
            box = self.find(field)
            box.clear()
            if value:
                box.send_keys(value)
        self.find("#login-submit").click()

    def wait_live(self) -> None:
        self.wait("the event stream live", lambda: self.stream_state() == "live")

    def stream_state(self) -> str:
        return str(self.find("#stream").get_attribute("data-state"))

    def device_state(self, number: str) -> str:
        return str(self.find(f'[data-state-of="{number}"]').text)

    def wait_device(self, number: str, state: str) -> float:
        """Seconds until the devices list shows ``number`` in ``state``."""
        began = time.monotonic()
        self.wait(f"{number} {state}", lambda: self.device_state(number) == state)
        return time.monotonic() - began

    def connections(self, call_id: str) -> list[str]:
        return self.texts(f'#calls tr[data-call="{call_id}"] [data-connection]')

    def calls_shown(self) -> list[str]:
        from selenium.webdriver.common.by import By

        rows = self.driver.find_elements(By.CSS_SELECTOR, "#calls tr[data-call]")
        return [str(row.get_attribute("data-call")) for row in rows]

    def select(self, number: str) -> None:
        self.find(f'button.device[data-device="{number}"]').click()
        self.wait(f"the panel of {number}", lambda: self.find("#panel-title").text.endswith(number))

    def dial(self, to: str) -> None:
        box = self.find("#dial-to")
        box.clear()
        box.send_keys(to)
        self.find("#dial").click()

    def press(self, key: str) -> None:
        self.find(f"#{key}").click()

    def result(self) -> str:
        return str(self.find("#action-result").text)

    def script(self, code: str) -> Any:
        return self.driver.execute_script(code)

    def script_errors(self) -> list[str]:
        """What the page's script threw or logged as an error since the last call."""
        return [
            entry["message"]
            for entry in self.driver.get_log("browser")
            if entry["level"] == "SEVERE" and entry["source"] != "network"
        ]

    def trace_roots(self) -> list[str]:
        from selenium.webdriver.common.by import By

        items = self.driver.find_elements(By.CSS_SELECTOR, "#trace-list li[data-root]")
        return [str(item.get_attribute("data-root")) for item in items]


# -- the tests --------------------------------------------------------------------------------


def _stream_transports() -> list[Any]:
    """The server side of every event stream connection on the reactor."""
    found = []
    for selectable in global_reactor.getReaders():
        protocol = getattr(selectable, "protocol", None)
        for _ in range(3):  # inside the listener's connection gate (a ProtocolWrapper)
            if isinstance(protocol, EventStreamProtocol):
                break
            protocol = getattr(protocol, "wrappedProtocol", None)
        if isinstance(protocol, EventStreamProtocol):
            found.append(selectable)
    return found


class ConsoleTests(unittest.TestCase):
    browser: Browser

    @pytest.fixture(autouse=True)
    def _with_browser(self, browser: Browser) -> None:
        self.browser = browser

    async def ui(self, action: Callable[..., T], *args: Any) -> T:
        """Run one blocking browser step in a thread, the reactor serving meanwhile."""
        return await threads.deferToThread(action, *args)

    async def start(self) -> tuple[CstaRoot, Console]:
        data = Path(self.mktemp())
        demo_data(data)
        root = build_service(RunSettings.ephemeral(data), global_reactor)
        root.startService()
        self.addCleanup(self._stop_server, root)
        self.addCleanup(self._stop_browser)  # first: its connections close before the server
        return root, Console(self.browser, f"http://127.0.0.1:{root.port_of('web')}/")

    async def _stop_browser(self) -> None:
        await self.ui(self.browser.stop)
        deadline = time.monotonic() + CLOSE_WAIT
        while time.monotonic() < deadline and any(
            isinstance(s, tcp.Server) for s in global_reactor.getReaders()
        ):
            await settle(0.02)

    async def _stop_server(self, root: CstaRoot) -> None:
        await root.stopService()
        for call_id in list(root.runtime.switch.calls):
            root.runtime.switch.clear_call(call_id)
        for call in root.runtime.clock.getDelayedCalls():
            call.cancel()

    async def test_dial_answer_and_hang_up_from_the_page(self) -> None:
        root, page = await self.start()
        switch = root.runtime.switch
        began = time.monotonic()
        await self.ui(page.open)
        await self.ui(page.log_in, WEB, ADMIN)
        await self.ui(page.wait_live)
        logged_in = time.monotonic() - began
        await self.ui(page.script, "window.sameDocument = true")

        await self.ui(page.select, "1000")
        await self.ui(page.dial, "1001")
        ringing = await self.ui(page.wait_device, "1001", "ringing")  # 1001: only the stream
        (call_id,) = switch.calls
        await self.ui(
            page.wait,
            "the call ringing",
            lambda: page.connections(call_id) == ["1000 connected", "1001 alerting"],
        )
        assert "dial 1001 at 1000: done" in await self.ui(page.result)

        await self.ui(page.select, "1001")
        await self.ui(page.press, "answer")
        await self.ui(
            page.wait,
            "the call connected",
            lambda: page.connections(call_id) == ["1000 connected", "1001 connected"],
        )
        assert await self.ui(page.device_state, "1001") == "busy"
        states = {d: c.state.value for d, c in switch.calls[call_id].connections.items()}
        assert states == {"1000": "connected", "1001": "connected"}

        await self.ui(page.press, "hangup")
        await self.ui(page.wait_device, "1001", "idle")
        await self.ui(page.wait_device, "1000", "idle")
        assert await self.ui(page.calls_shown) == []
        assert switch.calls == {}

        # a call the page did not make: only the stream can show it (the full refresh is 30 s)
        Simulator(switch).call("1002", "1003")
        outside = await self.ui(page.wait_device, "1003", "ringing")

        # the stream drops: the page reconnects (first back-off 1 s) and is live again
        dropped = _stream_transports()
        assert len(dropped) == 1
        dropped[0].abortConnection()
        await self.ui(page.wait, "the page reconnecting", lambda: page.stream_state() != "live")
        await self.ui(page.wait_live)
        Simulator(switch).call("1004", "1005")
        await self.ui(page.wait_device, "1005", "ringing")
        assert await self.ui(page.script, "return window.sameDocument") is True
        assert await self.ui(page.script_errors) == []
        total = time.monotonic() - began
        print(
            f"\nconsole: logged in and live {logged_in:.2f} s; dial -> 1001 ringing on the page "
            f"{ringing:.3f} s; outside call -> 1003 ringing {outside:.3f} s; all {total:.2f} s"
        )

    async def test_association_trace_and_read_only_login(self) -> None:
        root, page = await self.start()
        client = XmlClient()
        endpoint = TCP4ClientEndpoint(global_reactor, "127.0.0.1", root.port_of("xml"))
        await connectProtocol(endpoint, client)
        self.addCleanup(client.disconnect)
        await client.monitor("1001")
        (association,) = [a.id for a in root.core.associations if a.profile.name == "xml"]

        await self.ui(page.open)
        await self.ui(page.log_in, (WEB[0], "wrong"))
        await self.ui(
            page.wait,
            "the login refused",
            lambda: "wrong user name or password" in page.find("#login-message").text,
        )
        await self.ui(page.log_in, WEB)  # a web account only: the page is read only
        await self.ui(page.wait_live)
        await self.ui(page.select, "1000")
        assert await self.ui(page.result) == "Read only: log in with an admin account to act."
        assert not await self.ui(lambda: page.find("#dial").is_enabled())

        await self.ui(lambda: page.find(f'button[data-trace="{association}"]').click())
        await self.ui(
            page.wait,
            "MonitorStart in the trace",
            lambda: page.trace_roots()[:2] == ["MonitorStart", "MonitorStartResponse"],
        )
        title = await self.ui(lambda: page.find("#trace-title").text)
        assert title == f"Wire trace of association {association}"
        first = await self.ui(lambda: page.find("#trace-list li[data-root] pre").text)
        assert first.startswith("<MonitorStart") and "<deviceObject>1001</deviceObject>" in first

        # a request made with the panel open reaches it through the stream
        await client.ok(Req.snapshot_device("1001"))
        await self.ui(
            page.wait,
            "SnapshotDevice in the trace",
            lambda: page.trace_roots()[-2:] == ["SnapshotDevice", "SnapshotDeviceResponse"],
        )
        link = await self.ui(lambda: page.find("#trace-download").get_attribute("href"))
        assert link.endswith(f"/api/v1/associations/{association}/trace.txt")
        await self.ui(lambda: page.find("#trace-download").click())
        saved = self.browser.downloads / f"association-{association}-trace.txt"
        await self.ui(page.wait, "the trace downloaded", saved.exists)
        text = saved.read_text(encoding="utf-8")
        assert text.startswith(f"# wire trace of association {association}:")
        assert "SnapshotDeviceResponse" in text
        assert await self.ui(page.script_errors) == []
