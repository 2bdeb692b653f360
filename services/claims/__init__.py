"""Claims: assembles, scrubs and submits claims (837P); applies 999/277CA acknowledgments."""
