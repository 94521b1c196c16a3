"""The znode layout under the vnetmesh root, and validation of the names placed in it.

<root>/members/<host_id>     ephemeral, JSON metadata of a live host
<lease_root>/<name>          ephemeral, JSON lease record; czxid is the fencing token
<lease_root>/.clock          touched to read the ZooKeeper server's clock (mtime)
"""

import re

DEFAULT_ROOT = "/vnetmesh"
DEFAULT_LEASE_ROOT = DEFAULT_ROOT + "/leases"
CLOCK_NODE = ".clock"

# Node names: no '/', not starting with '.', printable ASCII without spaces; bounded length.
_NAME = re.compile(r"[A-Za-z0-9_:@=+,\-][A-Za-z0-9_.:@=+,\-]{0,199}")
_ROOT = re.compile(r"(/[A-Za-z0-9_.:@=+,\-]+)+")


def check_name(name: str, what: str = "name") -> str:
    """Return name if it is a valid single node name, else raise ValueError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"invalid {what} {name!r}: use letters, digits and _.:@=+,- (max 200)")
    return name


def check_root(root: str) -> str:
    """Return root without a trailing '/' if it is an absolute znode path, else raise."""
    root = root.rstrip("/")
    if not _ROOT.fullmatch(root) or "/./" in root + "/" or "/../" in root + "/":
        raise ValueError(f"invalid znode root {root!r}: an absolute path like /vnetmesh")
    return root


def members_path(root: str) -> str:
    return f"{root}/members"


def member_path(root: str, host_id: str) -> str:
    return f"{root}/members/{host_id}"


def lease_path(lease_root: str, name: str) -> str:
    return f"{lease_root}/{name}"


def clock_path(lease_root: str) -> str:
    return f"{lease_root}/{CLOCK_NODE}"
