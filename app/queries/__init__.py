"""Query functions, one module per resource: take a session and keyword arguments,
return table models, raise `app.errors` exceptions. They know nothing about HTTP."""
