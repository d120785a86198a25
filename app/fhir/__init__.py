"""The FHIR R4 interface, mounted at /fhir/R4 as an application of its own (see
docs/fhir.md)."""
