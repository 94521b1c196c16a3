"""The agent's packet path: upcall -> simulate -> translate -> install flow -> execute.

Pure parts: ``translate`` (simulation result -> datapath flows), ``flowtrack`` (installed
flows' tags, deadlines and cap), ``arp_policy`` with ``arp_wait`` (packets waiting on ARP),
``bindings``, ``changes``, ``races``, ``report``, ``frames``, ``counters``, ``config``.
``packet_path`` is the asyncio shell over a datapath backend; ``extension`` loads it into
meshd.
"""
