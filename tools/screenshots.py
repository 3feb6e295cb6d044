"""Take the console's screenshots for the docs with headless Chromium, from a real server.

    .venv/bin/python tools/screenshots.py [--output docs/images] [--free-ports]

Starts ``twistd csta`` on the demo exchange in a temporary directory (the demo's ports 8882,
8883, 5062 and 8080 as the docs show them, or free ones with ``--free-ports``), sets a scene
through the JSON API and a CSTA XML client (ACD agents logged on, a connected call, a call
ringing, an outside call delivered by the ACD group 2001 and one waiting in the CTI group
2000's queue, an XML client monitoring 1001), logs in to the console at ``/`` and writes:

- ``status.png``: the console at a glance (a 1280 x 1000 window): devices, calls, groups;
- ``console.png``: the whole page with device 1001's panel and the wire trace of the XML
  client's association open.

Needs Chromium and chromedriver (``make browser-deps``) and selenium (the test extras). The
server, chromedriver and Chromium are stopped by their PIDs at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cstaserver.pytest_plugin import CstaServer, start_server

DEMO_PORTS = ("--xml-port=8882", "--tls-port=8883", "--sip-port=5062", "--web-port=8080")
WAIT = 10.0  # seconds for the page to show what the scene did


def _pids_mentioning(marker: str) -> list[int]:
    """PIDs whose command line holds ``marker`` (Chromium's processes name its profile)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            with contextlib.suppress(OSError):
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
    return found


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    """A headless Chromium under chromedriver; on the way out it quits, and every process
    started with ``profile`` (chromedriver, Chromium, its helpers) is killed by its PID."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1280,1000",
        f"--user-data-dir={profile / 'profile'}",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(argument)
    environment = dict(os.environ, XDG_CONFIG_HOME=str(profile / "config"))
    service = Service(
        executable_path="/usr/bin/chromedriver",
        log_output=str(profile / "driver.log"),
        env=environment,
    )
    driver = None
    try:
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_page_load_timeout(20)
        yield driver
    finally:
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.quit()
        time.sleep(0.3)
        for pid in _pids_mentioning(str(profile)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def set_scene(server: CstaServer) -> Any:
    """The demo in use (see the module docstring); the XML client's connection."""
    api = server.api
    for device, agent in (("1005", "5006"), ("1006", "5007"), ("1007", "5008")):
        api.post(f"/devices/{device}/agent", {"action": "login", "agent": agent})
    for device in ("1005", "1006"):
        api.post(f"/devices/{device}/agent", {"action": "ready"})
    client = server.xml()
    client.monitor("1001")
    client.request("SnapshotDevice", {"snapshotObject": "1001"})
    call = api.post("/devices/1000/dial", {"to": "1001"})["call"]
    api.post("/devices/1001/answer", {"call": call["id"]})
    api.post("/devices/1002/dial", {"to": "1003"})
    api.post("/callers", {"from": "+4685550142", "to": "2001"})  # the ACD group: to 1005
    api.post("/callers", {"from": "+4685550143", "to": "2000"})  # the CTI group: queued
    return client


def wait(driver: Any, what: str, condition: Callable[[], Any]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return
        time.sleep(0.05)
    raise SystemExit(f"screenshots: the page did not show {what} within {WAIT} s")


def shoot(driver: Any, base: str, output: Path, association: int, admin: tuple[str, str]) -> None:
    from selenium.webdriver.common.by import By

    def find(css: str) -> Any:
        return driver.find_element(By.CSS_SELECTOR, css)

    driver.get(base)
    for field, value in (
        ("#web-user", "csta_user"),
        ("#web-password", "csta"),
        ("#admin-user", admin[0]),
        ("#admin-password", admin[1]),
    ):
        find(field).send_keys(value)
    find("#login-submit").click()
    wait(driver, "the live stream", lambda: find("#stream").get_attribute("data-state") == "live")
    wait(driver, "1003 ringing", lambda: find('[data-state-of="1003"]').text == "ringing")
    time.sleep(0.3)  # the last read-back rendered
    find("#refresh").click()  # focus away from the form
    driver.execute_script("document.activeElement.blur()")
    driver.save_screenshot(str(output / "status.png"))

    find('button.device[data-device="1001"]').click()
    find(f'button[data-trace="{association}"]').click()
    wait(
        driver,
        "the trace",
        lambda: len(driver.find_elements(By.CSS_SELECTOR, "#trace-list li")) >= 4,
    )
    driver.execute_script("document.activeElement.blur()")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(int(height) + 140, 4000))  # the window's own frame
    time.sleep(0.3)
    driver.save_screenshot(str(output / "console.png"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("docs/images"))
    parser.add_argument("--free-ports", action="store_true", help="not the demo's ports")
    options = parser.parse_args(argv)
    options.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="csta-screenshots-") as scratch:
        work = Path(scratch)
        server = start_server(work / "server", args=() if options.free_ports else DEMO_PORTS)
        try:
            client = set_scene(server)
            association = max(row["id"] for row in server.api.get("/associations")["associations"])
            with chromium(work / "browser") as driver:
                shoot(
                    driver,
                    f"http://127.0.0.1:{server.web_port}/",
                    options.output,
                    association,
                    server.admin,
                )
            client.close()
        finally:
            server.stop()
    for name in ("status.png", "console.png"):
        print(f"wrote {options.output / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
