"""The discussion of a section: comments on quoted passages, threads, resolve and reopen."""
