"""The charges use cases: encounters, charges, and what the HTTP and HL7 doors share (doors)."""
