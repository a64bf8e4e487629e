"""The rules of Konzeptwerk: plain Python actions that check, mutate, log and commit."""
