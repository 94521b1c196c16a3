"""The state mesh: gossip membership, anti-entropy replication of CRDT tables, ZooKeeper
membership and leases, and the meshd daemon. Imports crdt only."""
