"""What the 837P (``edi.x837``, 005010X222A1) and the 837I (``edi.x837i``, 005010X223A2) share.

Both claims have the same envelope, submitter/receiver (1000A/B), billing provider (2010AA),
subscriber/patient/payer hierarchy (2000B/2010BA/2010BB/2000C), other-payer COB loops
(2320/2330A/2330B) with their CAS segments, and line adjudication (2430) shell; only the claim
(2300), its providers (2310x) and its lines (2400) differ. ``model`` holds the shared pydantic
types, ``writer`` the segment builder and the hierarchy walk, ``reader`` the loop-following
reader and the read-then-validate step, ``checks`` the claim-total and NPI checks. Neither
variant imports the other, so ``rcm x12 parse`` of an 837P does not load the 837I.
"""
