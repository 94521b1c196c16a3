"""In-memory network with virtual time that drives real MeshNode cores (tests, benchmarks)."""

from mesh.sim.network import LinkModel, SimNetwork, make_cluster

__all__ = ["LinkModel", "SimNetwork", "make_cluster"]
