"""The numbering plan as CSV (docs/exchange-data.md, "The plan as CSV"): a real site's 500
extensions load in one step into the running server, survive a restart intact and export
back to the same rows; a bad line anywhere is one line naming the file and line number, exit
status 2, nothing saved and nothing applied."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from twisted.trial import unittest

from cstaserver.admin import csvplan
from cstaserver.config import DataDirectory, empty_exchange_data
from tests.admin.admin_harness import Server, run, stored

KINDS = ["ip", "sip", "remote", "dect", "virtual", "digital", "analog", "cas"]


def site_plan(lines: int = 500) -> str:
    """A site's plan: a header, a comment, ``lines`` extensions of every kind."""
    rows = ["number,kind,lim,name,dn_type,terminal,handsfree", "# exported from the old PBX"]
    for i in range(lines):
        kind = KINDS[i % len(KINDS)]
        terminal = "no" if kind == "virtual" else "yes"
        handsfree = "no" if i % 7 == 0 else "yes"
        dn = ["odn", "edn", "adn"][i % 3]
        rows.append(f'{3000 + i},{kind},1,"Desk {i}, floor {i // 50}",{dn},{terminal},{handsfree}')
    return "\n".join(rows) + "\n"


class CsvRestartTests(unittest.TestCase):
    async def test_500_lines_load_live_and_survive_a_restart(self) -> None:
        path = Path(self.mktemp())
        directory = DataDirectory(path)
        directory.create()
        directory.save(empty_exchange_data())
        csv_file = path / "site.csv"
        csv_file.write_text(site_plan())
        first = Server(self, path)
        status, out, err = await first.command("extension", "--import", str(csv_file))
        assert (status, err) == (0, ""), err
        assert out == (
            "site.csv: 500 extensions imported (500 added, 0 changed, 0 unchanged), "
            "saved, applied now\n"
        )
        switch = first.runtime.switch
        call_id, _ = switch.make_call("3001", "3499")  # the running switch has them now
        assert {d: s.value for d, s in switch.snapshot_call(call_id)} == {
            "3001": "connected", "3499": "alerting",
        }  # fmt: skip
        switch.clear_call(call_id)
        await first.root.stopService()

        second = Server(self, path)  # a restart: a new runtime on the same data directory
        devices = {info.number: info for info in second.runtime.switch.devices()}
        assert len([n for n in devices if n.startswith(("3", "4"))]) == 500
        assert devices["3007"].name == "Desk 7, floor 0" and devices["3007"].kind.value == "cas"
        assert devices["3004"].terminal is False  # virtual
        exported = path / "again.csv"
        status, out, _ = await second.command("extension", "--export", str(exported))
        assert (status, out) == (
            0,
            f"500 extensions exported to {exported} ({exported.stat().st_size} bytes)\n",
        )
        expected = [line for line in site_plan().splitlines() if not line.startswith("#")]
        original = list(csv.DictReader(expected))
        again = list(csv.DictReader(exported.read_text().splitlines()))
        assert [{name: row[name] for name in original[0]} for row in again] == original
        assert list(again[0])[: len(original[0])] == list(original[0])  # the fields' order


def write(data: Path, text: str) -> Path:
    path = data.parent / "plan.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (site_plan(400).replace(f"3316,{KINDS[316 % 8]}", "3316,ipx"), "plan.csv line 319: kind: 'ipx' is not one of"),
        (site_plan(20).replace("\n3010,", "\n3003,"), "plan.csv line 13: 3003 is also on line 6"),
        (site_plan(5) + "1001,ip\n", "plan.csv line 8: 2 values for 7 columns"),
        ("number,kind\n3000,ip\n2000,ip\n", "plan.csv line 3: 2000 is already an acd group"),
        ("number,kind,lim\n3000,ip,7\n", "plan.csv line 2: LIM 7 does not exist"),
        ("number,kind\n0300,ip\n", "plan.csv line 2: 0300 starts with the trunk prefix 0"),
        ("number,kind\n3000,hunt\n", "plan.csv line 2: kind hunt is not a kind of extension"),
        ("number,kind\n30x0,ip\n", "plan.csv line 2: number '30x0' is not a directory number"),
        ("number,kind\n3000,\n", "plan.csv line 2: no kind"),
        ("number,kind,colour\n3000,ip,red\n", "plan.csv line 1: unknown column 'colour'"),
        ("kind,name\nip,x\n", "plan.csv line 1: the header has no 'number' column"),
        ("# nothing\n", "plan.csv: no header line"),
        ("number,kind,terminal\n3000,ip,perhaps\n", "plan.csv line 2: terminal: 'perhaps' is not yes or no"),
    ],
)  # fmt: skip
def test_a_bad_line_names_its_number_and_saves_nothing(data: Path, text: str, message: str) -> None:
    before = stored(data)
    status, out, err = run("extension", data, "--import", str(write(data, text)))
    assert (status, out) == (2, "")
    assert err.startswith("extension: ") and message in err and err.count("\n") == 1, err
    assert stored(data) == before


def test_import_changes_and_replace_removes(data: Path) -> None:
    text = "number,kind,name\n1001,sip,Reception\n1900,ip,New\n"
    status, out, err = run("extension", data, "--import", str(write(data, text)))
    assert (status, err) == (0, "")
    assert "2 extensions imported (1 added, 1 changed, 0 unchanged)" in out
    plan = DataDirectory(data).load().plan
    by_number = {e.number: e for e in plan.extensions}
    assert (by_number["1001"].kind.value, by_number["1001"].name) == ("sip", "Reception")
    assert "1900" in by_number and len(plan.extensions) > 2  # the others are kept
    before = stored(data)
    status, _, err = run("extension", data, "--import", str(write(data, text)), "--replace")
    assert status == 2 and "1000 is not in the file but is a member of acd group 2000" in err
    assert stored(data) == before


def test_export_then_import_is_unchanged(data: Path) -> None:
    target = data.parent / "out.csv"
    status, out, _ = run("extension", data, "--export", str(target))
    count = len(DataDirectory(data).load().plan.extensions)
    assert status == 0 and out.startswith(f"{count} extensions exported")
    assert target.read_text().splitlines()[0] == ",".join(csvplan.columns())
    before = stored(data)
    status, out, _ = run("extension", data, "--import", str(target), "--replace")
    assert status == 0 and f"(0 added, 0 changed, {count} unchanged, 0 removed)" in out
    assert stored(data) == before


def test_a_spreadsheet_with_semicolons_imports(data: Path) -> None:
    text = "number;kind;name\r\n1950;ip;Andersson, Eva\r\n1951;dect;Lager\r\n"
    status, out, err = run("extension", data, "--import", str(write(data, text)))
    assert (status, err) == (0, ""), err
    by_number = {e.number: e for e in DataDirectory(data).load().plan.extensions}
    assert by_number["1950"].name == "Andersson, Eva" and by_number["1951"].kind.value == "dect"
