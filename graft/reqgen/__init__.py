"""Schema-driven requests from an OpenAPI document: `schema` reads operations into nodes,
`values` makes valid and edge values for a node, `gen` whole seeded requests. Used by
`graft diff --openapi` (graft/diff_openapi.py) and `graft port` (graft/port.py)."""
