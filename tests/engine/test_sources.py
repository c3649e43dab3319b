"""Issue 17 point 11: reference links a clinician can trust. Every reference follows facts.md §7 and the
addendum's sources; a secondary source carries the facts' mark, shown beside it; integrity refuses bare IP
addresses and unmarked secondary hosts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clinic.engine import load_knowledge
from clinic.engine.catalogue import render_markdown
from clinic.engine.integrity import check_integrity
from clinic.engine.knowledge import DEFAULT_DIR, SECONDARY_MARK
from clinic.engine.source_integrity import check_sources, secondary_host

K = load_knowledge()


@pytest.mark.parametrize(
    ("url", "secondary"),
    [
        ("https://pubmed.ncbi.nlm.nih.gov/28899601/", False),
        ("https://doi.org/10.1111/sdi.13223", False),
        ("https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=x", False),
        ("https://mhc.testcatalog.org/show/AL", False),  # a laboratory's own test catalogue, not a test server
        ("https://kiwix.haohe.fun/content/wikipedia_en_all_maxi_2024-01/A/Aluminium", True),
        ("https://en.wikipedia.org/wiki/Baclofen", True),
        ("https://www.droracle.ai/articles/491455/", True),
        ("https://allkidne.blogspot.com/2009/10/x.html", True),
        ("https://uat.mimsdev.com/philippines/drug/info/nervagest/dosage", True),
        ("https://dev.advancedrenaleducation.com/wparep/?p=1225", True),
        ("https://staging.example-pharma.com/label", True),
        ("https://paperzz.com/doc/8380466/", True),
    ],
)
def test_secondary_hosts_are_recognised(url: str, secondary: bool) -> None:
    assert (secondary_host(url) is not None) is secondary


def test_the_shipped_references_pass() -> None:
    assert check_sources(K) == []
    assert check_integrity(K) == []


def _with_reference(tmp_path: Path, block: str) -> list[str]:
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIR, target)
    with (target / "references.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n" + block + "\n")
    return check_sources(load_knowledge(target))


@pytest.mark.parametrize(
    ("block", "refused"),
    [
        ('[X1]\ntitle = "t"\nurl = "http://47.251.13.51:8081/8151349"', "bare IP address"),
        ('[X1]\ntitle = "t"\nurl = "https://47.251.13.51/8151349"\nsecondary = true', "bare IP address"),
        ('[X1]\ntitle = "t"\nurl = "https://[2001:db8::1]/x"', "bare IP address"),
        ('[X1]\ntitle = "t"\nurl = "https://www.droracle.ai/articles/1/"', "an AI answer site"),
        ('[X1]\ntitle = "t"\nurl = "https://kiwix.haohe.fun/content/x"', "a Wikipedia mirror"),
        ('[X1]\ntitle = "t"\nurl = "https://uat.mimsdev.com/x"', "a vendor development server"),
        ('[X1]\ntitle = "t"\nurl = "https://x.blogspot.com/x"', "a blog"),
        ('[X1]\ntitle = "t"\nurl = "http://www.example.org/x"', "use https"),
    ],
)
def test_integrity_refuses_untrustworthy_links(tmp_path: Path, block: str, refused: str) -> None:
    problems = _with_reference(tmp_path, block)
    assert any("'X1'" in p and refused in p for p in problems), problems


def test_a_marked_secondary_source_is_accepted(tmp_path: Path) -> None:
    block = '[X1]\ntitle = "t"\nurl = "https://www.droracle.ai/articles/1/"\nsecondary = true'
    assert _with_reference(tmp_path, block) == []


@pytest.mark.parametrize(
    ("rid", "url"),
    [
        ("R1", "https://pubmed.ncbi.nlm.nih.gov/28899601/"),
        ("R12", "https://pubmed.ncbi.nlm.nih.gov/1768504/"),  # was a linked-data mirror
        ("R41", "https://pubmed.ncbi.nlm.nih.gov/8151349/"),  # was a bare IP address
        ("R21", "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=97935fd9-1d4a-43b6-a5d9-de994591187b"),
        ("R47", "https://www.ukkidney.org/health-professionals/guidelines/treatment-acute-hyperkalaemia-adults-0"),
        ("R52", "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=60c27d35-7349-4fc6-86ad-70fffdbe3e08"),
    ],
)
def test_references_follow_the_facts_sheet(rid: str, url: str) -> None:
    assert K.references[rid].url == url


def test_facts_secondary_marks_are_carried_and_shown_in_the_catalogue() -> None:
    marked = {rid for rid, ref in K.references.items() if ref.secondary}
    assert {"R4", "R14", "R17", "R19", "R60", "R75", "R76", "R77", "R82", "S3", "S29"} <= marked
    assert not {"R1", "R12", "R41", "R49"} & marked
    text = render_markdown(K)
    r82 = next(line for line in text.splitlines() if line.startswith("- **R82**"))
    assert SECONDARY_MARK in r82
    r1 = next(line for line in text.splitlines() if line.startswith("- **R1**"))
    assert SECONDARY_MARK not in r1
    assert f"({SECONDARY_MARK})" in text.split("## 8. References")[0]  # beside the rules that cite one
