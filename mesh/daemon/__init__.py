"""The meshd daemon: one mesh agent per host (config, persistence, extensions, HTTP API)."""
