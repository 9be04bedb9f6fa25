"""Peer support: which providers could support a provider with a need, free of I/O.

Table 2 of seed 003 expects a segment 1 provider (maximum autonomy, no support needs) to support
providers in other segments, and para 34 counts support "from other providers" as part of a
package. Issue 11 asks, for each need, for segment 1 providers of the same kind with no need in
that theme, nearest first within the region. A suggestion is only that: the teams name the peer
they choose on a plan item (``PlanItem.peer``).

**Nearness is a stand-in.** The organisation registry (``oversight_runtime.reference``) holds no
locations, so distance cannot be measured. What it does hold is the system each provider belongs
to: a provider sharing one of the need's provider's ICBs is in the same integrated care system,
works with the same partners and commissioners and is, in practice, near. So candidates are
ranked: those sharing an ICB with the provider first, then the region's others, each by name.
Replace the first key with a real distance when the registry gains sites.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from oversight_runtime.reference import Provider

#: The segment whose providers are expected to support others (seed 003 Table 2).
PEER_SEGMENT = 1


@dataclass(frozen=True)
class PeerSuggestion:
    """A provider that could support the need's provider, and why it is suggested."""

    provider: Provider
    segment: int
    shared_icbs: tuple[str, ...]
    why: str


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
    label = theme.replace("_", " ")
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
        where = (
            f"shares ICB {', '.join(shared)} with {provider.ods_code} (same system)"
            if shared
            else f"in region {provider.region}, another system"
        )
        why = (
            f"segment 1 (maximum autonomy: expected to support others, seed 003 Table 2); "
            f"{peer.kind.replace('_', ' ')} like {provider.ods_code}; {where}; no open need in {label}"
        )
        suggestions.append(PeerSuggestion(peer, PEER_SEGMENT, shared, why))
    return sorted(suggestions, key=lambda s: (not s.shared_icbs, s.provider.name, s.provider.ods_code))
