"""Web pages of Word exports and imports (blueprint ``exporting``): request, progress,
download, history, upload. The Word files themselves are built and read by ``exports/``.
"""
