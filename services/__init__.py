"""The virtual network: topology model, packet simulation, flow translation and the
agent extension that turns a mesh node into a vnetmesh host."""
