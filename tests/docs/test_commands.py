"""Every command README.md and docs/*.md show is run by a test, as written.

A newcomer copies commands from the docs: each one here is either run right here, in a
sandbox (``RUN_HERE``: how to run it and what it must print), or named with the test that
runs it (``RUN_BY``: that test's source holds the command verbatim), or marked in the doc
itself as one no test can run (``{not-run: REASON}``). Changing a command in a doc without
changing its test fails here. The conventions are in docs/testing.md.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grant_service.testing.postgres import PrivatePostgres
from tests.docs.sandbox import Sandbox, Step, isolated
from tests.docs.shown import Shown, docs, every_shown, starts, synopsis_options, words
from tests.support.paths import REPO
from tests.test_bench_scripts import shown_benchmarks

ANSWER = f".venv/bin/python {REPO / 'tests' / 'docs' / 'answer.py'}"
DATA = "~/.local/share/mynapoint-kiosk"
START_SERVICE = (
    ".venv/bin/grant-service serve >service.log 2>&1 & echo $! >service.pid\nwait_port 8700"
)
ENROLL = (
    ".venv/bin/grant-service enrollment-token --kiosk-id kiosk-0001 --channel {channel}"
    " | .venv/bin/kiosk-device enroll --token-stdin"
)
# The first MyKey ID the service issued in this sandbox.
MYKEY_ID = (
    '$(.venv/bin/python -c "import sqlite3, os; print(sqlite3.connect(os.path.expanduser('
    "'~/.local/share/mynapoint-grant-service/grant-service.sqlite3'))"
    ".execute('select mykey_id from mykeys order by received_at').fetchone()[0])\")"
)
# The J-LIS feed reports that the card b.json replaces virtual-card.json: both cards have
# a MyKey ID, so the service opens link conflict 1.
JLIS_FEED = f"""token=$(.venv/bin/grant-service credential create --role jlis_feed --label feed)
.venv/bin/python - "$token" <<'EOF'
import base64, os, sys
from pathlib import Path
import httpx
from cryptography.hazmat.primitives.serialization import Encoding
from kiosk.devices.jpki import JpkiCard
from kiosk.devices.sim.loopback import VirtualReader
def certificate(path):
    return JpkiCard(VirtualReader(Path(path)).wait_for_card(1)).read_certificate()
old = certificate(os.path.expanduser("{DATA}/virtual-card.json"))
new = certificate("b.json")
entry = {{"old_issuer": old.issuer.rfc4514_string(), "old_serial_hex": f"{{old.serial_number:X}}",
         "new_certificate": base64.b64encode(new.public_bytes(Encoding.DER)).decode()}}
reply = httpx.post("http://127.0.0.1:8700/v1/jlis/reissues", json={{"entries": [entry]}},
                   headers={{"Authorization": "Bearer " + sys.argv[1]}})
print(reply.status_code, reply.text)
EOF"""
SELF_SIGNED = """.venv/bin/python - <<'EOF'
import datetime as dt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "grant.example.jp")])
now = dt.datetime.now(dt.UTC)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1).not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
open("cert.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open("key.pem", "wb").write(key.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF"""
# A slip issued on this kiosk, kept in its archive (what `reprint` prints again).
ISSUE_SLIP = """.venv/bin/python - <<'EOF'
from kiosk.settings import KioskSettings
from kiosk.slip.desk import SlipDesk
from receipts.sample import sample_slip
desk = SlipDesk(KioskSettings())
with desk.printer:
    desk.issue(sample_slip())
EOF"""


@dataclass(frozen=True)
class Run:
    """How this test runs a command a doc shows, and what must come of it."""

    status: tuple[int, ...] = (0,)
    shows: tuple[str, ...] = ()  # in its output (stdout and stderr)
    fill: tuple[tuple[str, str], ...] = ()  # placeholders (and example values) filled in
    before: str = ""  # shell run first, in the same sandbox: the state the command needs
    daemon: float = 0  # it serves: still running after this many seconds
    answers: tuple[str, ...] = ()  # prompt, answer, ...: typed at a terminal
    slow: bool = False


# What a doc shows -> how it runs here. A tuple: successive occurrences in one block.
RUN_HERE: dict[str, Run | tuple[Run, ...]] = {
    # README.md
    "./scripts/demo": Run(
        shows=("running the headless walkthrough", "2 accepted, 0 rejected", "38 screenshots"),
        slow=True,
    ),
    "./scripts/demo --headless --walkthrough DIR": Run(
        fill=(("DIR", "walk"),), shows=("paypay active", "38 screenshots in"), slow=True
    ),
    ".venv/bin/kiosk-demo": Run(shows=("8. Queue: 0 unsent", "10. Audit trail: intact")),
    # docs/card.md
    ".venv/bin/kiosk-card readers": Run(
        before="pcscd --foreground &\n.venv/bin/kiosk-card-sim serve --vpcd 127.0.0.1:35963 &",
        shows=("PC/SC (pcscd):", "Virtual card (in-process):"),
    ),
    ".venv/bin/kiosk-card info --reader pcsc": Run(shows=("JPKI applet found", "PIN tries left:")),
    ".venv/bin/kiosk-card demo": Run(shows=("the My Number was never read",)),
    ".venv/bin/kiosk-card-sim make-ca": Run(shows=("Test CA created",)),
    ".venv/bin/kiosk-card-sim issue": Run(shows=("Virtual card issued",)),
    ".venv/bin/kiosk-card-sim issue --card old.json --expired": Run(shows=("old.json",)),
    ".venv/bin/kiosk-card-sim issue --card new.json --fresh": Run(shows=("new.json",)),
    ".venv/bin/kiosk-card-sim issue --card lost.json --revoked": Run(shows=("lost.json",)),
    ".venv/bin/kiosk-card-sim revoke --card some.json": Run(
        before=".venv/bin/kiosk-card-sim issue --card some.json", shows=("Revoked serial",)
    ),
    ".venv/bin/kiosk-card-sim serve --vpcd 127.0.0.1:35963": Run(
        daemon=4, shows=("Waiting for vpcd at 127.0.0.1:35963",)
    ),
    ".venv/bin/kiosk-card-sim serve --nfc-udp 127.0.0.1:54321": Run(
        daemon=4, shows=("Card in the field",)
    ),
    "pcscd --foreground &": Run(),
    ".venv/bin/kiosk-card-sim serve --vpcd 127.0.0.1:35963 &": Run(),
    # docs/service.md
    ".venv/bin/grant-service serve": Run(
        before=".venv/bin/kiosk-card-sim make-ca",
        daemon=8,
        shows=("Uvicorn running on http://127.0.0.1:8700",),
    ),
    ".venv/bin/grant-service serve --database-url postgresql+psycopg://user@host/db --workers 4"
    " --host 0.0.0.0 --tls-certfile cert.pem --tls-keyfile key.pem": Run(
        before=SELF_SIGNED,
        daemon=20,
        fill=(("postgresql+psycopg://user@host/db", "'{postgres}'"),),
        shows=("Uvicorn running on https://0.0.0.0:8700", "Started parent process"),
    ),
    ".venv/bin/grant-service migrate": Run(shows=("Schema up to date",)),
    ".venv/bin/grant-service load-catalog [FILE]": Run(shows=("payment services",)),
    f".venv/bin/grant-service import-crl {DATA}/test-ca/crl.der": Run(shows=("CRL imported",)),
    ".venv/bin/grant-service import-crl --inbox DIR": Run(
        before=f"mkdir inbox && cp {DATA}/test-ca/crl.der inbox/today.der",
        fill=(("DIR", "inbox"),),
        shows=("today.der: CRL imported",),
    ),
    ".venv/bin/grant-service enrollment-token --kiosk-id kiosk-0001 --channel city_hall": Run(
        shows=("one-time token for kiosk-0001",)
    ),
    # Before the kiosk is revoked, it makes two reservations: two cards, two MyKey IDs.
    ".venv/bin/grant-service device-revoke kiosk-0001": Run(
        before="\n".join(
            (
                START_SERVICE,
                ENROLL.format(channel="city_hall"),
                ".venv/bin/kiosk-card-sim issue && .venv/bin/kiosk-card-sim issue --card b.json",
                "export GRANT_SERVICE_APPLICATION_DEADLINE=2099-12-31",
                "echo 1234 | .venv/bin/kiosk-submit reservation --pin-stdin",
                "echo 1234 | .venv/bin/kiosk-submit reservation --pin-stdin"
                " --reader virtual:b.json",
            )
        ),
        shows=("kiosk-0001",),
    ),
    ".venv/bin/grant-service admin-token": Run(shows=("admin token",)),
    ".venv/bin/grant-service credential create --role operator --service paypay"
    ' --label "PayPay"': Run(shows=("operator token for PayPay",)),
    '.venv/bin/grant-service credential create --role jlis_feed --label "J-LIS"': Run(),
    ".venv/bin/grant-service credential create --role municipality --scope 131016"
    ' --label "Chiyoda City"': Run(shows=("municipality token for Chiyoda City",)),
    ".venv/bin/grant-service credential create --role shop --scope 131016"
    ' --label "Kanda Bakery"': Run(shows=("shop token for Kanda Bakery",)),
    ".venv/bin/grant-service credential create --role facility --scope chiyoda_library"
    ' --label "Chiyoda Library"': Run(shows=("facility token for Chiyoda Library",)),
    ".venv/bin/grant-service expire-points": Run(shows=("voucher(s) closed",)),
    ".venv/bin/grant-service voucher-key": Run(shows=("BEGIN PUBLIC KEY",)),
    ".venv/bin/grant-service credential list": Run(shows=("PayPay (paypay): active",)),
    '.venv/bin/grant-service credential revoke --label "PayPay"': Run(shows=("Revoked 1",)),
    '.venv/bin/grant-service suspend MYKEY_ID --reason "leaked ID reported"': Run(
        fill=(("MYKEY_ID", MYKEY_ID),), shows=("Suspended",)
    ),
    ".venv/bin/grant-service reinstate MYKEY_ID": Run(fill=(("MYKEY_ID", MYKEY_ID),)),
    ".venv/bin/grant-service conflicts": Run(before=JLIS_FEED, shows=("#1",)),
    ".venv/bin/grant-service resolve-conflict 1 --keep old": Run(),
    ".venv/bin/grant-service report": Run(shows=("Reservations (MyKey IDs issued): 2",)),
    ".venv/bin/grant-service audit-verify": Run(shows=("Audit trail intact",)),
    ".venv/bin/grant-service audit-checkpoint DIR": Run(
        before="mkdir checkpoints", fill=(("DIR", "checkpoints"),)
    ),
    ".venv/bin/grant-service audit-checkpoint /var/log/mynapoint-grant-audit": Run(
        before="mkdir /var/log/mynapoint-grant-audit"
    ),
    ".venv/bin/grant-service audit-checkpoint --public-key": Run(),
    ".venv/bin/grant-service audit-verify --checkpoint audit-checkpoint-20261205T101500Z.json"
    " --trusted-key KEY": Run(
        fill=(
            (
                "audit-checkpoint-20261205T101500Z.json",
                "$(ls /var/log/mynapoint-grant-audit/audit-checkpoint-*.json)",
            ),
            ("KEY", '"$(.venv/bin/grant-service audit-checkpoint --public-key)"'),
        ),
        shows=("Audit trail intact",),
    ),
    # docs/queue.md
    ".venv/bin/kiosk-device enroll --token-stdin": Run(
        before="\n".join(
            (
                ".venv/bin/kiosk-card-sim make-ca && .venv/bin/kiosk-card-sim issue",
                f".venv/bin/grant-service import-crl {DATA}/test-ca/crl.der",
                "export GRANT_SERVICE_APPLICATION_DEADLINE=2099-12-31",
                START_SERVICE,
                ".venv/bin/grant-service enrollment-token --kiosk-id kiosk-0001"
                " --channel convenience_store >token",
            )
        ),
        fill=(("--token-stdin", "--token-stdin <token"),),
        shows=("enrolled as kiosk-0001",),
    ),
    ".venv/bin/kiosk-device show": Run(shows=("kiosk ID:     kiosk-0001",)),
    ".venv/bin/kiosk-submit reservation --pin-stdin": Run(
        fill=(("--pin-stdin", "--pin-stdin <<< 1234"),), shows=("confirmed: receipt",)
    ),
    ".venv/bin/kiosk-submit application --service paypay --payment-id 090-0000-0001": Run(
        answers=("PIN (4 digits)", "1234", "ecurity code", "1234"), shows=("confirmed",)
    ),
    ".venv/bin/kiosk-sync": Run(daemon=5, shows=("kiosk-sync started",)),
    ".venv/bin/kiosk-queue status [--json]": Run(shows=("unsent: 0",)),
    ".venv/bin/kiosk-queue list [--state pending]": Run(shows=("reservation  accepted",)),
    ".venv/bin/kiosk-queue drain": Run(shows=("0 unsent",)),
    # The network goes down: a reservation waits, to retry and to export.
    ".venv/bin/kiosk-queue retry ID|RECEIPT": Run(
        before="kill $(cat service.pid)\n"
        "echo 1234 | .venv/bin/kiosk-submit reservation --pin-stdin",
        fill=(
            (
                "ID|RECEIPT",
                "$(.venv/bin/kiosk-queue list --state pending | awk '{print $2}' | head -1)",
            ),
        ),
    ),
    ".venv/bin/kiosk-queue export FILE": Run(fill=(("FILE", "queue.sealed"),)),
    ".venv/bin/kiosk-queue clear-alert CODE": Run(fill=(("CODE", "STAFF_CALLED"),)),
    "kiosk-queue list --state quarantined": Run(),
    # docs/queue.md: the outage, as one script
    "export XDG_DATA_HOME=$(mktemp -d) PATH=$PWD/.venv/bin:$PATH"
    " GRANT_SERVICE_APPLICATION_DEADLINE=2099-12-31": Run(),
    "kiosk-card-sim make-ca && kiosk-card-sim issue": Run(),
    "grant-service import-crl $XDG_DATA_HOME/mynapoint-kiosk/test-ca/crl.der": Run(),
    "grant-service serve & SERVICE=$! && sleep 3": Run(),
    "grant-service enrollment-token --kiosk-id kiosk-0001 --channel convenience_store"
    " | kiosk-device enroll --token-stdin": Run(shows=("enrolled as kiosk-0001",)),
    "kill $SERVICE": Run(),
    "for i in $(seq 10); do echo 1234 | kiosk-submit reservation --pin-stdin; done": Run(
        shows=("pending",)
    ),
    "kiosk-queue status": (Run(status=(3,), shows=("unsent: 10",)), Run(shows=("unsent: 0",))),
    "kiosk-sync --once": Run(shows=("sent 10: 10 accepted",)),
    # docs/slip.md
    ".venv/bin/kiosk-slip preview --sample slip.png": Run(shows=("576 x",)),
    ".venv/bin/kiosk-slip preview --sample --lang en --large --paper 58 --pending slip-en.png": Run(
        shows=("384 x",)
    ),
    ".venv/bin/kiosk-slip status": Run(status=(2,), shows=("status unknown",)),
    ".venv/bin/kiosk-slip test-print [--lang en]": Run(shows=("printed",)),
    ".venv/bin/kiosk-slip reprint --last 3": Run(before=ISSUE_SLIP, shows=("printed (",)),
    ".venv/bin/python -m kiosk.devices.sim.escpos_printer --port 9100 --save received.bin &": Run(
        before="sleep 1"
    ),
    "KIOSK_PRINTER_BACKEND=network .venv/bin/kiosk-slip test-print": Run(
        before="wait_port 9100", shows=("network printer 127.0.0.1:9100: online; paper ok",)
    ),
    # docs/ui.md
    ".venv/bin/kiosk demo": Run(shows=("38 screenshots",), slow=True),
    ".venv/bin/kiosk demo --headless --walkthrough DIR [--channel city_hall] [--voice]": Run(
        fill=(("DIR", "walk"),), shows=("38 screenshots in",), slow=True
    ),
    ".venv/bin/kiosk technician-pin": Run(
        answers=("New technician PIN", "24681357", "again", "24681357"),
        shows=("KIOSK_TECHNICIAN_PIN_HASH=scrypt$",),
    ),
    # docs/technician.md, docs/deployment.md, docs/benchmarks.md
    "./scripts/bootstrap": Run(),
    "grant-service serve --workers W": Run(
        fill=(("W", "2"),), daemon=15, shows=("Started parent process",)
    ),
    "grant-service serve --workers 1": Run(daemon=8, shows=("Uvicorn running",)),
}

# What a doc shows -> the test that runs it (its source holds the command verbatim).
RUN_BY = {
    "kiosk demo --headless --walkthrough DIR --voice": "tests/kiosk/demo/test_walkthrough.py",
    '.venv/bin/grant-service credential create --role console --label "Sato Hanako"': (
        "tests/grant_service/console/test_sign_in.py"
    ),
}


def in_repo(shown: Shown) -> bool:
    """The project's scripts run in the checkout itself: they set up its virtualenv."""
    return shown.text.startswith("./scripts/")


def runs_the_suite(text: str) -> bool:
    """Commands that run the tests: collected here, run by CI (.ci/run)."""
    return text.startswith("./scripts/test") or " -m pytest" in text


SHOWN = every_shown()


def covered_by_a_block(mention: Shown) -> Shown | None:
    """The command shown in full in a block that an inline mention names the start of."""
    return next(
        (
            shown
            for shown in SHOWN
            if shown.block is not None and starts(words(mention.text), words(shown.text))
        ),
        None,
    )


def to_check() -> list[Shown]:
    """Every command a test must run: not marked, and not a mention of a block's command."""
    checked = []
    for shown in SHOWN:
        if shown.not_run:
            continue
        if shown.block is None and covered_by_a_block(shown) is not None:
            continue
        checked.append(shown)
    return checked


def benchmark(shown: Shown) -> bool:
    return shown.text in shown_benchmarks()


def test_every_command_shown_is_run_by_a_test() -> None:
    unaccounted = [
        f"{shown.where}: {shown.text}"
        for shown in to_check()
        if shown.text not in RUN_HERE
        and shown.text not in RUN_BY
        and not runs_the_suite(shown.text)
        and not benchmark(shown)
    ]
    assert not unaccounted, "no test runs these commands (add them to RUN_HERE or RUN_BY):\n" + (
        "\n".join(unaccounted)
    )


def test_every_entry_is_a_command_a_doc_shows() -> None:
    """A changed command leaves its entry behind: it must go (or follow the doc)."""
    texts = {shown.text for shown in SHOWN}
    stale = [text for text in (*RUN_HERE, *RUN_BY) if text not in texts]
    assert not stale, f"no doc shows these any more: {stale}"


def test_the_tests_named_hold_their_commands_verbatim() -> None:
    for command, test in RUN_BY.items():
        assert command in (REPO / test).read_text(), f"{test} does not run {command!r}"


def test_a_mention_of_a_marked_command_is_not_run_either() -> None:
    """Inline mentions of a marked block's command share its mark; they are listed so that
    nothing hides behind one: each must name the start of a command a block shows."""
    for shown in SHOWN:
        if shown.block is None and not shown.not_run and shown not in to_check():
            assert covered_by_a_block(shown) is not None, shown


def test_the_marked_commands_are_few() -> None:
    marked = {(shown.doc, shown.block or shown.line) for shown in SHOWN if shown.not_run}
    assert len(marked) <= 14, sorted(marked)


# --- running them ----------------------------------------------------------------------


def blocks() -> dict[str, list[Shown]]:
    """The commands run here, by the block (or inline line) they come from, in order."""
    grouped: dict[str, list[Shown]] = defaultdict(list)
    for shown in to_check():
        if shown.text in RUN_HERE:
            grouped[f"{shown.doc}:{shown.block or shown.line}"].append(shown)
    return grouped


BLOCKS = blocks()


def runs_of(commands: list[Shown]) -> list[Run]:
    seen: dict[str, int] = defaultdict(int)
    runs = []
    for shown in commands:
        spec = RUN_HERE[shown.text]
        runs.append(spec[seen[shown.text]] if isinstance(spec, tuple) else spec)
        seen[shown.text] += 1
    return runs


def as_run(text: str, run: Run, values: dict[str, str]) -> str:
    """The command as the sandbox runs it: without its optional parts, placeholders filled."""
    command = re.sub(r"\s*\[[^\]]*\]", "", text)
    for placeholder, value in run.fill:
        assert placeholder in command, (placeholder, text)
        command = command.replace(
            placeholder, value.format(**values) if "{postgres}" in value else value
        )
    if run.answers:
        exchange = " ".join(f"'{part}'" for part in run.answers)
        command = f"{ANSWER} '{command}' {exchange}"
    return command


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A database on a private PostgreSQL server, reached through its socket (the sandbox
    has a network of its own)."""
    server = PrivatePostgres().start()
    try:
        server.create_database("docs")
        yield (
            f"postgresql+psycopg://{server.superuser}@/docs"
            f"?host={server.directory}&port={server.port}"
        )
    finally:
        server.stop()


def needs_postgres(key: str) -> bool:
    return any(
        "{postgres}" in value for shown in BLOCKS[key] for _, value in runs_of([shown])[0].fill
    )


def block_params() -> list[object]:
    return [
        pytest.param(
            key,
            id=key.replace("/", "-"),
            marks=[pytest.mark.slow] if any(r.slow for r in runs_of(BLOCKS[key])) else [],
        )
        for key in BLOCKS
    ]


@pytest.mark.parametrize("key", block_params())
def test_the_commands_of_a_block_run_as_written(
    key: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    assert isolated(), "these tests run the docs' commands as root, in Linux namespaces"
    commands = BLOCKS[key]
    runs = runs_of(commands)
    values = {"postgres": request.getfixturevalue("postgres") if needs_postgres(key) else ""}
    steps = [
        Step(shown.text, as_run(shown.text, run, values), run.before, run.daemon, in_repo(shown))
        for shown, run in zip(commands, runs, strict=True)
    ]
    outcomes = Sandbox(tmp_path).run(steps)
    for shown, run, outcome in zip(commands, runs, outcomes, strict=True):
        expected = (124,) if run.daemon else run.status
        told = outcome.stdout + outcome.stderr
        assert outcome.status in expected, f"{shown.where}: {shown.text}\n{outcome}"
        assert "Traceback" not in told, f"{shown.where}\n{outcome}"
        for text in run.shows:
            assert text in told, f"{shown.where}: {text!r} not shown\n{outcome}"


@pytest.mark.parametrize(
    "shown",
    [s for s in to_check() if s.text in RUN_HERE and synopsis_options(s.text)],
    ids=lambda s: s.where.replace("/", "-"),
)
def test_the_optional_parts_of_a_synopsis_are_the_commands_own(shown: Shown) -> None:
    """A synopsis runs without its optional parts; its help names each of them."""
    base = re.sub(r"\s*\[[^\]]*\]", "", shown.text).split()
    subcommand = [w for w in base if re.fullmatch(r"[.\w/-]+", w) and not w.startswith("-")]
    subcommand = subcommand[: next((i for i, w in enumerate(base) if w not in subcommand), None)]
    helped = subprocess.run(
        [str(REPO / subcommand[0]), *subcommand[1:], "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert helped.returncode == 0, helped.stderr
    for option in synopsis_options(shown.text):
        assert option in helped.stdout, f"{shown.where}: {option} is not in\n{helped.stdout}"


@pytest.mark.parametrize(
    "shown",
    [s for s in to_check() if runs_the_suite(s.text)],
    ids=lambda s: s.where.replace("/", "-"),
)
def test_a_test_suite_command_selects_tests(shown: Shown, tmp_path: Path) -> None:
    """The suite is CI's to run; a command that runs part of it must select something."""
    [collected] = Sandbox(tmp_path).run(
        [Step(shown.text, f"{shown.text} --collect-only -p no:cacheprovider", in_repo=True)]
    )
    assert collected.status == 0, str(collected)
    assert re.search(r"\d+(/\d+)? tests? (collected|selected)", collected.stdout), str(collected)


# --- the README itself -----------------------------------------------------------------


def test_the_readme_is_read_in_two_minutes() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) <= 150


def test_the_readme_lists_every_doc() -> None:
    readme = (REPO / "README.md").read_text()
    listed = set(re.findall(r"^- `(docs/[\w.-]+\.md)`", readme, re.MULTILINE))
    assert listed == {str(p.relative_to(REPO)) for p in docs()[1:]}


def test_the_flow_picture_has_a_title_and_a_text_alternative() -> None:
    readme = (REPO / "README.md").read_text()
    [(alt, path)] = re.findall(r"!\[([^\]]+)\]\(([^)]+\.svg)\)", readme)
    assert len(alt.split()) >= 10
    svg = ET.parse(REPO / path).getroot()  # noqa: S314 (our own file)
    namespace = "{http://www.w3.org/2000/svg}"
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "title desc"
    assert svg.find(f"{namespace}title") is not None
    assert svg.find(f"{namespace}desc") is not None
    labels = {t.text for t in svg.iter(f"{namespace}text")}
    assert {"My Number Card", "Kiosk", "Offline queue", "Grant service", "Slip"} <= labels


PATH_LIKE = re.compile(r"^(?:\.\./shared/|[a-z_]+/)[\w./-]*$")


def test_every_path_the_docs_name_exists() -> None:
    """Inline code naming a file or folder of the repository names one that exists."""
    missing = []
    roots = {p.name for p in REPO.iterdir()}
    for path in docs():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for code in re.findall(r"`([^`\s]+)`", line):
                if not PATH_LIKE.match(code) or code.split("/")[0] not in roots:
                    continue
                if not (REPO / code.rstrip("/")).exists() and "<" not in code:
                    missing.append(f"{path.relative_to(REPO)}:{number}: {code}")
    assert not missing, "\n".join(missing)
