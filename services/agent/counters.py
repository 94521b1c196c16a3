"""Every counter of the agent's packet path, declared once with its help text.

GET /v1/agent shows them by name (``counters``); /metrics exports them as ``agent_<name>``.
"""

from __future__ import annotations

from mesh.counters import CounterDef, Counters

PREFIX = "agent"

DEFS = (
    # upcalls
    CounterDef("upcalls", "Upcalls read from the datapath"),
    CounterDef("upcalls_dropped", "Upcalls dropped because the worker queue was full"),
    CounterDef("upcall_errors", "Upcalls whose handling raised (counted, logged, skipped)"),
    CounterDef("slow_upcalls", "Upcalls that took longer than SLOW_SIMULATION to handle"),
    CounterDef("simulations", "Packets simulated through the virtual topology"),
    CounterDef("unbound_in_port", "Upcalls from a datapath port no exterior port is bound to"),
    CounterDef("executed", "Upcall packets executed with their planned actions"),
    CounterDef("translate_errors", "Simulation results that could not become datapath flows"),
    CounterDef("error_drops", "Flows installed to drop with an error (no route, rejected...)"),
    CounterDef("tunnel_misses", "Tunnel packets no flow matched, delivered by tunnel key"),
    CounterDef("tunnel_unknown_key", "Tunnel packets whose tunnel key no local port has"),
    # generated packets (ARP, ICMP)
    CounterDef("generated_sent", "Packets the simulation generated that were sent"),
    CounterDef("generated_dropped", "Generated packets that had nowhere to go"),
    # learned state
    CounterDef("macs_learned", "MAC entries learned and written to the mesh"),
    CounterDef("arps_learned", "ARP entries learned and written to the mesh"),
    # flows
    CounterDef("flows_installed", "Flows installed in the datapath"),
    CounterDef("flows_existing", "Flow installs refused because the flow already existed"),
    CounterDef("install_failures", "Flow installs the datapath refused for another reason"),
    CounterDef("flows_evicted", "Flows deleted to stay under max_flows"),
    CounterDef("flows_raced", "Flows deleted at once: invalidated while being computed"),
    CounterDef("flows_invalidated", "Flows deleted because a tag they carry was invalidated"),
    CounterDef("flows_expired", "Flows deleted because their hard timeout passed"),
    CounterDef("flow_delete_missing", "Flow deletes of a flow the datapath no longer had"),
    # bindings
    CounterDef("ports_bound", "Exterior ports bound to a local interface"),
    CounterDef("ports_unbound", "Exterior ports unbound from their interface"),
    CounterDef("bind_failures", "Bindings whose interface could not be attached (retried)"),
    CounterDef("bind_conflicts", "Bindings naming an interface another port is bound to"),
    # packets waiting on ARP
    CounterDef("arp_wait_held", "Packets held waiting on ARP (holds and re-holds)"),
    CounterDef("arp_wait_coalesced", "Needs-ARP packets that joined an outstanding request"),
    CounterDef("arp_wait_overflow", "Held packets dropped by the per-hop or total bound"),
    CounterDef("arp_wait_resolved", "Held packets replayed because their next hop resolved"),
    CounterDef("arp_wait_expired", "Held packets whose hold bound passed"),
    CounterDef("arp_wait_retried", "Expired held packets simulated again (one ARP attempt)"),
    CounterDef("arp_wait_abandoned", "Held packets dropped after arp_max_holds holds"),
    CounterDef("arp_wait_requeue_dropped", "Released held packets dropped: queue full"),
    # the shell's tasks
    CounterDef("change_errors", "Table change processing that raised (counted, logged)"),
    CounterDef("timer_errors", "Timer rounds (expiry, members, binding retry) that raised"),
)


def new_counters() -> Counters:
    """A fresh set of the packet path's counters, all at zero."""
    return Counters(PREFIX, DEFS)
