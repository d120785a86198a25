"""The catalogue's seed files (`seed/catalogue/`): their format (`format`), reading and
checking them against the source documents (`reading`), and loading them through the
catalogue writer (`writing`)."""
