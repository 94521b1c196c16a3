"""The agent's packet path: upcall -> simulate -> translate -> install flow -> execute.

``translate`` (pure) turns a simulation result into datapath flows; ``flowtrack`` (pure)
keeps the installed flows' tags, deadlines and cap; ``packet_path`` is the asyncio shell
over a datapath backend; ``extension`` loads it into meshd.
"""
