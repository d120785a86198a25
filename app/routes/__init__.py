"""HTTP routes, one module per resource: parse, call one query function, return a schema."""
