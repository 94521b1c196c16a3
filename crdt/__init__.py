"""Delta-state CRDTs with causal contexts, and their deterministic msgpack codec."""
