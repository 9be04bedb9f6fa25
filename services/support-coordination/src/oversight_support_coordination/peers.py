"""Peer support: which providers could support a provider with a need, free of I/O.

Table 2 of seed 003 expects a segment 1 provider (maximum autonomy, no support needs) to support
providers in other segments, and para 34 counts support "from other providers" as part of a
package. Issue 11 asks, for each need, for segment 1 providers of the same kind with no need in
that theme, nearest first within the region. A suggestion is only that: the teams name the peer
they choose on a plan item (``PlanItem.peer``).

Nearness is the distance between the providers' main sites (``Provider.site`` in the registry,
approximate to about a kilometre), as the crow flies: enough to rank peers across a region. A
provider with no site in the registry (one running services across many sites) comes after those
with one, and among those the ones sharing one of the need's provider's ICBs come first: the same
integrated care system works with the same partners and commissioners.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from math import asin, cos, radians, sin, sqrt

from oversight_runtime.reference import Provider, Site

#: The segment whose providers are expected to support others (seed 003 Table 2).
PEER_SEGMENT = 1
#: The Earth's mean radius, for distances between sites.
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class PeerSuggestion:
    """A provider that could support the need's provider, and why it is suggested."""

    provider: Provider
    segment: int
    shared_icbs: tuple[str, ...]
    #: Between the two main sites; None when either has no site in the registry.
    distance_km: float | None
    why: str


def distance_km(a: Site, b: Site) -> float:
    """The great-circle (haversine) distance between two sites."""
    lat1, lon1, lat2, lon2 = map(radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = sin((lat2 - lat1) / 2) ** 2 + cos(lat1) * cos(lat2) * sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(sqrt(h))


def suggest_peers(
    provider: Provider,
    theme: str,
    *,
    providers: Iterable[Provider],
    segments: Mapping[str, int],
    open_needs: Collection[tuple[str, str]],
) -> list[PeerSuggestion]:
    """Peers for ``provider``'s need in ``theme``, nearest first (see the module's note).

    ``providers`` is the registry's providers; ``segments`` each provider's latest decided segment
    (a provider with no decision is in no segment here, so never a peer); ``open_needs`` the
    (provider, theme) pairs of needs not yet resolved. A candidate is in segment 1, of the same
    kind, in the same region, not the provider itself and has no open need in ``theme``."""
    suggestions = []
    for peer in providers:
        if (
            peer.ods_code == provider.ods_code
            or segments.get(peer.ods_code) != PEER_SEGMENT
            or peer.kind != provider.kind
            or peer.region != provider.region
            or (peer.ods_code, theme) in open_needs
        ):
            continue
        shared = tuple(icb for icb in peer.icbs if icb in provider.icbs)
        distance = distance_km(provider.site, peer.site) if provider.site and peer.site else None
        suggestions.append(
            PeerSuggestion(
                peer, PEER_SEGMENT, shared, distance, _why(provider, peer, shared, distance, theme)
            )
        )
    return sorted(
        suggestions,
        key=lambda s: (
            s.distance_km is None,
            s.distance_km or 0.0,
            not s.shared_icbs,
            s.provider.name,
            s.provider.ods_code,
        ),
    )


def _why(
    provider: Provider, peer: Provider, shared: tuple[str, ...], distance: float | None, theme: str
) -> str:
    where = (
        f"shares ICB {', '.join(shared)} with {provider.ods_code} (same system)"
        if shared
        else f"in region {provider.region}, another system"
    )
    if distance is not None and peer.site is not None:
        where += f"; {peer.site.name}, about {distance:.0f} km away"
    return (
        f"segment 1 (maximum autonomy: expected to support others, seed 003 Table 2); "
        f"{peer.kind.replace('_', ' ')} like {provider.ods_code}; {where}; "
        f"no open need in {theme.replace('_', ' ')}"
    )
