"""The fixed words of the Word export come from the message catalog in the paper's language
(issue 10, item 8): the same words as the hand-made catalogue they replace."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from exports.builder import labels

# The hand-made catalogue exports/builder.LABELS held before.
BEFORE = {
    "de": {
        "drafting": "ENTWURF",
        "signing": "ZUR MITZEICHNUNG",
        "final": "ENDFASSUNG",
        "archived": "ENDFASSUNG",
        "lead": "Federführung",
        "participants": "Beteiligte",
        "edition": "Stand",
        "working": "Arbeitsstand",
        "contents": "Inhalt",
        "toc_hint": "Das Inhaltsverzeichnis wird beim Öffnen in Word aktualisiert.",
        "page": "Seite",
        "of": "von",
        "annex": "Anlage: Mitzeichnung",
        "org": "Organisation",
        "decision": "Entscheidung",
        "signatory": "Unterzeichnet von",
        "date": "Datum",
        "note": "Vorbehalt / Begründung",
        "approve": "Zustimmung",
        "approve_with_reservation": "Zustimmung mit Vorbehalt",
        "reject": "Ablehnung",
        "open": "Offen",
        "hash": "Prüfsumme (SHA-256) der Gesamtfassung",
        "redline": "Änderungen gegenüber Gesamtfassung",
        "summary": "Zusammenfassung",
        "figure": "Abbildung",  # issue 13: figure captions
    },
    "en": {
        "drafting": "DRAFT",
        "signing": "FOR SIGN-OFF",
        "final": "FINAL",
        "archived": "FINAL",
        "lead": "Lead",
        "participants": "Participants",
        "edition": "Edition",
        "working": "Working draft",
        "contents": "Contents",
        "toc_hint": "Word updates the table of contents when the document is opened.",
        "page": "Page",
        "of": "of",
        "annex": "Annex: sign-off",
        "org": "Organisation",
        "decision": "Decision",
        "signatory": "Signed by",
        "date": "Date",
        "note": "Reservation / reason",
        "approve": "Approve",
        "approve_with_reservation": "Approve with reservation",
        "reject": "Reject",
        "open": "Open",
        "hash": "Checksum (SHA-256) of the edition",
        "redline": "Changes against edition",
        "summary": "Summary",
        "figure": "Figure",  # issue 13: figure captions
    },
}


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_labels_are_the_words_of_before(app, language):
    assert labels(language) == BEFORE[language]


def test_an_unknown_language_gets_german_words(app):
    assert labels("fr") == BEFORE["de"]


def test_the_paper_language_wins_over_the_reader_language(app):
    with app.test_request_context(), force_locale("en"):
        assert labels("de")["drafting"] == "ENTWURF"
    with app.test_request_context(), force_locale("de"):
        assert labels("en")["annex"] == "Annex: sign-off"
