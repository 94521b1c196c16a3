"""ZooKeeper membership and leases (optional): ephemeral member nodes and fenced leases.

`ZkMembership`/`AsyncZkMembership` publish this host under `<root>/members/<host_id>` and
report the member set; `LeaseManager` hands out exclusive, TTL-bounded leases with
fencing tokens. See docs/zookeeper.md for the layout and the semantics.
"""

from mesh.zk.async_lease import AsyncLeaseManager
from mesh.zk.async_membership import AsyncZkMembership
from mesh.zk.errors import ZkDataError, ZkError
from mesh.zk.lease import Lease, LeaseManager
from mesh.zk.membership import ZkMembership

__all__ = [
    "AsyncLeaseManager",
    "AsyncZkMembership",
    "Lease",
    "LeaseManager",
    "ZkDataError",
    "ZkError",
    "ZkMembership",
]
