"""Exercise Catalogue API: rehabilitation exercises with dosage, phases, cautions and sources."""
