"""``meshd demo``: three namespaced hosts with meshd agents, two tenants and a router."""
