"""Errors raised by mesh.zk."""


class ZkError(Exception):
    """A ZooKeeper operation of mesh.zk failed (not connected, bad name, ...)."""


class ZkDataError(ZkError, ValueError):
    """A znode held data that does not decode (foreign or corrupt content)."""
