"""The Word engine: builds .docx files of papers and reads uploaded ones (no web pages).

Its pages are in ``drafting/export_pages/``. Like ``workflows/``, it uses only
``drafting.models``, ``drafting.extensions`` and ``drafting.text`` of ``drafting``.
"""
