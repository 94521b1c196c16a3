"""The fast path: flow keys, masks and actions, and the kernel (OVS over generic netlink)
and userspace backends. Knows nothing of the topology; imports nothing of ours."""
