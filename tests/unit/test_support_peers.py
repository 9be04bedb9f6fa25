"""Peer suggestions (issue 11 point 3; seed 003 Table 2: segment 1 providers support others) and
the check on a peer a user names on a plan item.

Each row of the table is one candidate beside the need's provider: whether it is suggested says
which rule keeps it out. Ordering is tested on its own: nearest main site first; providers the
registry gives no site come after, those sharing an ICB first, each by name.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from oversight_runtime.errors import Rejected
from oversight_runtime.reference import Provider, ProviderKind, Site, load_registry
from oversight_support_coordination.models import PackageEditBody
from oversight_support_coordination.peers import distance_km, suggest_peers

REGISTRY = load_registry()
THEME = "operational_performance"


def provider(code: str, name: str, *icbs: str, kind: ProviderKind = "acute", region: str = "Y56") -> Provider:
    return Provider(ods_code=code, name=name, kind=kind, icbs=icbs or ("QMF",), region=region)


NEEDY = provider("RA1", "Needy Hospital", "QMF")

#: (candidate, its segment (None: never decided), open needs as (provider, theme), suggested?)
CASES = [
    ("segment 1, same kind, region and ICB", provider("RB1", "Able"), 1, [], True),
    ("segment 1 in another ICB of the region", provider("RB2", "Able", "QKK"), 1, [], True),
    ("segment 2", provider("RB3", "Busy"), 2, [], False),
    ("segment 3", provider("RB4", "Busy"), 3, [], False),
    ("no segment decided yet", provider("RB5", "Unknown"), None, [], False),
    ("another kind", provider("RB6", "Minds", kind="mental_health"), 1, [], False),
    ("another region", provider("RB7", "Far", "QXX", region="Y59"), 1, [], False),
    ("an open need in the theme", provider("RB8", "Stretched"), 1, [("RB8", THEME)], False),
    ("an open need in another theme only", provider("RB9", "Mixed"), 1, [("RB9", "quality_of_care")], True),
    ("another provider's need in the theme", provider("RC1", "Able"), 1, [("RA1", THEME)], True),
    ("the provider itself", NEEDY, 1, [], False),
]


@pytest.mark.parametrize(
    ("candidate", "segment", "open_needs", "suggested"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_who_is_suggested(
    candidate: Provider, segment: int | None, open_needs: list[tuple[str, str]], suggested: bool
) -> None:
    segments = {} if segment is None else {candidate.ods_code: segment}
    found = suggest_peers(
        NEEDY, THEME, providers=[NEEDY, candidate], segments=segments, open_needs=set(open_needs)
    )
    assert [s.provider.ods_code for s in found] == ([candidate.ods_code] if suggested else [])
    assert all(s.segment == 1 for s in found)


def test_without_sites_the_same_system_first_then_the_region_each_by_name() -> None:
    needy = provider("RA1", "Needy", "QMF", "QMJ")  # a trust of two ICBs: either is its system
    candidates = [
        provider("RB1", "Zeta Hospital", "QMF"),
        provider("RB2", "Alpha Hospital", "QKK"),
        provider("RB3", "Beta Hospital", "QRV", "QMJ"),  # shares needy's second ICB
        provider("RB4", "Gamma Hospital", "QWE"),
        provider("RB5", "Alpha Hospital", "QMF"),  # the same name: by code after
    ]
    found = suggest_peers(
        needy,
        THEME,
        providers=[needy, *candidates],
        segments={p.ods_code: 1 for p in candidates},
        open_needs=set(),
    )
    assert [s.provider.ods_code for s in found] == ["RB5", "RB3", "RB1", "RB2", "RB4"]
    assert [s.shared_icbs for s in found] == [("QMF",), ("QMJ",), ("QMF",), (), ()]


def test_why_says_each_reason() -> None:
    [near, far] = suggest_peers(
        NEEDY,
        THEME,
        providers=[NEEDY, provider("RB1", "Near", "QMF"), provider("RB2", "Far", "QKK")],
        segments={"RB1": 1, "RB2": 1},
        open_needs=set(),
    )
    assert "segment 1" in near.why and "Table 2" in near.why and "acute like RA1" in near.why
    assert "shares ICB QMF with RA1" in near.why and "no open need in operational performance" in near.why
    assert "in region Y56, another system" in far.why


def test_peers_of_a_london_acute_trust_from_the_registry() -> None:
    ral = REGISTRY.provider("RAL")  # Royal Free London: acute, North Central London (QMJ)
    segments = {"RRV": 1, "RKE": 1, "RJ1": 1, "RP4": 1, "RAP": 2, "RAL": 1}
    found = suggest_peers(ral, THEME, providers=REGISTRY.providers, segments=segments, open_needs=set())
    # Nearest first from the Royal Free in Hampstead: the Whittington at Archway, UCLH on the
    # Euston Road, then Guy's and St Thomas' across the river; Great Ormond Street is specialist,
    # North Middlesex in segment 2, RAL is itself.
    assert [s.provider.ods_code for s in found] == ["RKE", "RRV", "RJ1"]
    assert [round(s.distance_km or 0) for s in found] == [2, 4, 7]
    assert "Whittington Hospital, Archway, about 2 km away" in found[0].why


def _sited(code: str, name: str, icb: str, latitude: float, longitude: float) -> Provider:
    return provider(code, name, icb).model_copy(
        update={"site": Site(name=name, latitude=latitude, longitude=longitude)}
    )


def test_with_sites_the_nearest_first_whatever_the_system_then_those_without() -> None:
    needy = _sited("RA1", "Needy", "QMF", 51.50, -0.10)
    candidates = [
        _sited("RB1", "Same system, far", "QMF", 51.60, -0.10),  # about 11 km north
        _sited("RB2", "Other system, near", "QKK", 51.51, -0.10),  # about 1 km north
        provider("RB3", "Same system, no site", "QMF"),
    ]
    found = suggest_peers(
        needy,
        THEME,
        providers=[needy, *candidates],
        segments={p.ods_code: 1 for p in candidates},
        open_needs=set(),
    )
    assert [s.provider.ods_code for s in found] == ["RB2", "RB1", "RB3"]
    assert [None if s.distance_km is None else round(s.distance_km, 1) for s in found] == [1.1, 11.1, None]


def test_a_degree_of_latitude_is_about_111_km() -> None:
    assert distance_km(
        Site(name="a", latitude=51.0, longitude=0.0), Site(name="b", latitude=52.0, longitude=0.0)
    ) == pytest.approx(111.19, abs=0.01)


def test_the_only_ambulance_trust_of_a_region_has_no_peer() -> None:
    rru = REGISTRY.provider("RRU")
    segments = {p.ods_code: 1 for p in REGISTRY.providers}
    assert suggest_peers(rru, THEME, providers=REGISTRY.providers, segments=segments, open_needs=set()) == []


# --- a peer named on a plan item ----------------------------------------------------------------

NEED = str(UUID(int=7))


def _edit(*peers: str | None) -> PackageEditBody:
    items = [
        {"action": f"Buddy with a peer {i}", "needs": [NEED], "owner": "Y56", "peer": peer}
        for i, peer in enumerate(peers)
    ]
    return PackageEditBody.model_validate({"plan_items": items})


@pytest.mark.parametrize(
    ("peers", "refused"),
    [
        ((None,), []),
        (("RJ1",), []),
        (("RRV", None, "RKE"), []),
        (("RAL",), [(0, "peer_is_provider")]),
        ((None, "ZZZ99"), [(1, "unknown_peer")]),
        (("QMJ",), [(0, "unknown_peer")]),  # an ICB is no peer provider
        (("RAL", "RJ1", "ZZ9"), [(0, "peer_is_provider"), (2, "unknown_peer")]),
    ],
)
def test_a_named_peer_is_a_known_provider_other_than_the_packages(
    peers: tuple[str | None, ...], refused: list[tuple[int, str]]
) -> None:
    body = _edit(*peers)
    if not refused:
        body.check_peers(REGISTRY, "RAL")
        return
    with pytest.raises(Rejected) as error:
        body.check_peers(REGISTRY, "RAL")
    assert [(p.loc, p.type) for p in error.value.problems] == [
        (("body", "plan_items", i, "peer"), type_) for i, type_ in refused
    ]


def test_an_edit_without_plan_items_names_no_peer() -> None:
    PackageEditBody.model_validate({"problem_statement": "Flow"}).check_peers(REGISTRY, "RAL")
