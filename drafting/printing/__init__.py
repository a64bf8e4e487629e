"""Print views: the whole paper, an edition and the record of sign-off, laid out for A4."""
