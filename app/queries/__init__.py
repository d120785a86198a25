"""Query functions, one module per resource (the exercise list split by concern): take
a session and keyword arguments, return table models or typed pages (`keyset`), raise
`app.errors` exceptions. They know nothing about HTTP. Query-plan hints live in
`plans`, full-text SQL in `exercise_search`."""
