"""Endpoint attachment: how users, gateways and data centres join the network at one step.

An :class:`_Access` lists, for each endpoint, the core nodes (satellites or orbital data centres) it
reaches and the one-way delay of that attachment (the ground–satellite link, plus a gateway's
backhaul for a terrestrial data centre reached through gateways).
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from orbitlat.latency.network import Network, NetworkStep
from orbitlat.latency._inputs import _MS_PER_KM

__all__ = []


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# ---------------------------------------------------------------------------
# endpoint access and the per-step routing kernel
# ---------------------------------------------------------------------------
@dataclass
class _Access:
    """Endpoint → core links (sorted by endpoint then core): delay and the gateway used (-1: direct)."""

    ep: np.ndarray
    core: np.ndarray
    w_ms: np.ndarray
    via: np.ndarray
    n_ep: int
    kind: str = "terminal"  # "terminal" (GSL), "gateway" (GSL at a gateway + fiber), "core" (a space node)

    def counts(self) -> np.ndarray:
        return np.bincount(self.ep, minlength=self.n_ep)

    def via_of(self, ep: np.ndarray, core: np.ndarray, n_core: int) -> np.ndarray:
        key = self.ep * n_core + self.core
        q = ep * n_core + core
        i = np.clip(np.searchsorted(key, q), 0, max(key.size - 1, 0))
        if key.size == 0:
            return np.full(q.shape, -1, np.int64)
        return np.where(key[i] == q, self.via[i], -1)

def _sorted_access(ep, core, w, via, n_ep) -> _Access:
    order = np.lexsort((w, core, ep))
    ep, core, w, via = ep[order], core[order], w[order], via[order]
    first = np.ones(ep.size, bool)
    if ep.size > 1:
        first[1:] = (ep[1:] != ep[:-1]) | (core[1:] != core[:-1])  # keep the best per (endpoint, core)
    return _Access(ep[first].astype(np.int64), core[first].astype(np.int64), w[first], via[first].astype(np.int64),
                   int(n_ep))

def _terminal_access(network: Network, step: NetworkStep, index, hop_ms: float, *, odc: bool = True) -> _Access:
    vp = network.gsl(step, index, core=odc)
    return _Access(vp.site, vp.sat, vp.range_km * _MS_PER_KM + hop_ms, np.full(vp.site.size, -1, np.int64),
                   vp.n_sites)

def _gateway_access(network: Network, step: NetworkStep, gw_index, backhaul_ms: np.ndarray, hop_ms: float,
                    only_gateway: np.ndarray | None = None) -> _Access:
    """Access of destinations through gateways; ``backhaul_ms`` (n_gw, n_ep) one-way fiber delay (inf: no fiber)."""
    vp = network.gsl(step, gw_index, core=False)
    n_gw, n_ep = backhaul_ms.shape
    g_of, e_of = np.nonzero(np.isfinite(backhaul_ms))
    if only_gateway is not None:
        keep = np.isin(g_of, only_gateway)
        g_of, e_of = g_of[keep], e_of[keep]
    # each visible (gateway, sat) pair times each fiber (gateway, endpoint)
    starts = np.searchsorted(g_of, np.arange(n_gw))
    n_fib = np.bincount(g_of, minlength=n_gw)
    rep = n_fib[vp.site]
    pair = np.repeat(np.arange(vp.site.size), rep)
    k = np.arange(pair.size) - np.repeat(np.cumsum(rep) - rep, rep)
    f = starts[vp.site[pair]] + k
    g = vp.site[pair]
    e = e_of[f]
    w = vp.range_km[pair] * _MS_PER_KM + backhaul_ms[g, e] + 2.0 * hop_ms
    acc = _sorted_access(e, vp.sat[pair], w, g, n_ep)
    acc.kind = "gateway"
    return acc
