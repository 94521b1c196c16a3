"""The topology HTTP API (CRUD under /v1/<kind>, link/unlink, trace, OpenAPI document)."""
