"""The text core: pure functions over section texts, without any part of the web app.

Markdown rendering (:mod:`.markdown`), the word diff (:mod:`.textdiff`), three-way merge
(:mod:`.merge`), heading numbers (:mod:`.outline`), comment highlighting (:mod:`.highlight`),
comment anchors (:mod:`.anchors`), tracked changes (:mod:`.changes`) and search words
(:mod:`.searchtext`). Nothing here imports Flask, the models or the database; callers pass
in what a function needs (an import-linter contract in ``pyproject.toml`` keeps it so).
"""
