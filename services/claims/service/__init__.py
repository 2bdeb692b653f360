"""The claims use cases: assembly, scrubbing, submission, acknowledgments, adjudication,
corrections, operator actions, follow-up."""
