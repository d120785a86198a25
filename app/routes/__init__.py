"""HTTP routes, one module per resource: parse, call one query function through the
catalogue reader, return a schema."""
