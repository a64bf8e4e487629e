"""The demo alliance: a ministry, two cities, a chamber, a trade association and a sample paper.

All text here was written for Konzeptwerk; the places and bodies are invented.
"""

from __future__ import annotations

from drafting.models import OrgKind, Role, User
from workflows import accounts
from workflows import papers as paper_flow
from workflows import sections as section_flow

DEMO_PASSWORD = "konzeptwerk-demo"  # noqa: S105  # nosec B105 # public demo login

ORGS = [
    ("Ministerium für Wirtschaft und Innenstadtentwicklung", "MWI", OrgKind.MINISTRY),
    ("Stadt Lindenau", "LIN", OrgKind.MUNICIPALITY),
    ("Stadt Brückenfeld", "BRF", OrgKind.MUNICIPALITY),
    ("IHK Mittelland", "IHK", OrgKind.CHAMBER),
    ("Handelsverband Mittelland", "HVM", OrgKind.ASSOCIATION),
]

# email, name, org, roles on the sample paper, admin
USERS = [
    ("admin@konzeptwerk.example", "Petra Admin", "MWI", [], True),
    (
        "koordination@mwi.example",
        "Dr. Jana Seidel",
        "MWI",
        [Role.COORDINATOR, Role.SIGNATORY],
        False,
    ),
    ("redaktion@mwi.example", "Tobias Krüger", "MWI", [Role.EDITOR], False),
    ("stadtplanung@lindenau.example", "Aylin Demir", "LIN", [Role.EDITOR, Role.REVIEWER], False),
    ("buergermeister@lindenau.example", "Klaus Hoffmann", "LIN", [Role.SIGNATORY], False),
    ("wirtschaft@brueckenfeld.example", "Marta Nowak", "BRF", [Role.EDITOR, Role.SIGNATORY], False),
    (
        "standort@ihk-mittelland.example",
        "Friederike Lang",
        "IHK",
        [Role.EDITOR, Role.REVIEWER, Role.SIGNATORY],
        False,
    ),
    ("vorstand@hv-mittelland.example", "Georg Weiß", "HVM", [Role.SIGNATORY], False),
    ("mitglied@hv-mittelland.example", "Sabine Roth", "HVM", [], False),
]

TITLE = "Gemeinsame Konzeption „Lebendige Innenstädte 2030“"
SUMMARY = (
    "Die Partner des Bündnisses beschreiben, wie Innenstädte im Land bis 2030 wieder mehr "
    "Menschen anziehen: durch gemischte Nutzung, belebte öffentliche Räume, gute Erreichbarkeit "
    "und ein abgestimmtes Leerstandsmanagement."
)

# Each section: level, then a list of (title, body, author e-mail, note) — one per version.
SECTIONS: list[tuple[int, list[tuple[str, str, str, str]]]] = [
    (
        1,
        [
            (
                "Ausgangslage",
                "Viele Innenstädte verlieren Frequenz. Geschäfte schließen, Obergeschosse stehen leer.",
                "redaktion@mwi.example",
                "Erster Entwurf",
            ),
            (
                "Ausgangslage",
                "Viele Innenstädte im Land verlieren an Frequenz. Inhabergeführte Geschäfte schließen, "
                "Obergeschosse stehen leer, und der Onlinehandel verändert das Einkaufsverhalten "
                "dauerhaft.\n\nZugleich wächst der Wunsch nach Orten, an denen man sich ohne "
                "Kaufzwang aufhalten kann.",
                "stadtplanung@lindenau.example",
                "Aufenthaltsqualität ergänzt",
            ),
            (
                "Ausgangslage",
                "Viele Innenstädte im Land verlieren an Frequenz. Inhabergeführte Geschäfte schließen, "
                "Obergeschosse stehen leer, und der Onlinehandel verändert das Einkaufsverhalten "
                "dauerhaft.\n\nZugleich wächst der Wunsch nach Orten, an denen man sich ohne "
                "Kaufzwang aufhalten kann. Die Zählungen der Partner zeigen:\n\n"
                "| Stadt | Passanten je Samstag 2019 | 2024 |\n|---|---:|---:|\n"
                "| Lindenau | 18 400 | 15 900 |\n| Brückenfeld | 11 200 | 10 100 |",
                "wirtschaft@brueckenfeld.example",
                "Frequenzzahlen aus beiden Städten",
            ),
        ],
    ),
    (
        1,
        [
            (
                "Ziele des Bündnisses",
                "Wir wollen die Innenstädte als Orte des Handels, des Wohnens und der Begegnung "
                "stärken.",
                "koordination@mwi.example",
                "",
            ),
            (
                "Ziele des Bündnisses",
                "Die Partner wollen die Innenstädte als Orte des Handels, des Wohnens, der Arbeit und "
                "der Begegnung stärken. Bis 2030 soll\n\n"
                "- die Leerstandsquote im Erdgeschoss unter fünf Prozent sinken,\n"
                "- jede Innenstadt mindestens einen konsumfreien Aufenthaltsort erhalten,\n"
                "- die Passantenfrequenz wieder das Niveau von 2019 erreichen.",
                "koordination@mwi.example",
                "Messbare Ziele",
            ),
        ],
    ),
    (
        2,
        [
            (
                "Gemischte Nutzung und Leerstand",
                "Leerstehende Ladenflächen sollen schneller neu genutzt werden.",
                "stadtplanung@lindenau.example",
                "",
            ),
            (
                "Gemischte Nutzung und Leerstand",
                "Leerstehende Ladenflächen sollen schneller neu genutzt werden. Die Städte führen ein "
                "gemeinsames **Leerstandskataster**, das Eigentümer, Flächen und Zustand erfasst.\n\n"
                "Zwischennutzungen durch Kultur, Handwerk und Gründungen werden erleichtert:\n\n"
                "1. Musterverträge für befristete Nutzungen,\n"
                "2. ein kleiner Fonds für die Herrichtung der Flächen,\n"
                "3. eine Ansprechperson je Stadt.",
                "stadtplanung@lindenau.example",
                "Kataster und Zwischennutzung",
            ),
            (
                "Gemischte Nutzung und Leerstand",
                "Leerstehende Ladenflächen sollen schneller neu genutzt werden. Die Städte führen ein "
                "gemeinsames **Leerstandskataster**, das Eigentümer, Flächen und Zustand erfasst.\n\n"
                "Zwischennutzungen durch Kultur, Handwerk und Gründungen werden erleichtert:\n\n"
                "1. Musterverträge für befristete Nutzungen,\n"
                "2. ein kleiner Fonds für die Herrichtung der Flächen,\n"
                "3. eine Ansprechperson je Stadt.\n\n"
                "> Wohnen in den Obergeschossen bringt Leben in die Abendstunden.",
                "redaktion@mwi.example",
                "Wohnen in Obergeschossen",
            ),
        ],
    ),
    (
        2,
        [
            (
                "Öffentlicher Raum und Aufenthaltsqualität",
                "Plätze und Straßen sollen zum Verweilen einladen.",
                "stadtplanung@lindenau.example",
                "",
            ),
            (
                "Öffentlicher Raum und Aufenthaltsqualität",
                "Plätze und Straßen sollen zum Verweilen einladen: mit Sitzgelegenheiten ohne "
                "Verzehrpflicht, Schatten durch Bäume, Trinkbrunnen und Spielangeboten für Kinder.\n\n"
                "Die Städte prüfen, welche Parkflächen sich in Aufenthaltsflächen umwandeln lassen.",
                "wirtschaft@brueckenfeld.example",
                "Konkretisiert",
            ),
        ],
    ),
    (
        2,
        [
            (
                "Erreichbarkeit und Mobilität",
                "Die Innenstädte müssen mit allen Verkehrsmitteln gut erreichbar bleiben.",
                "standort@ihk-mittelland.example",
                "",
            ),
            (
                "Erreichbarkeit und Mobilität",
                "Die Innenstädte müssen mit allen Verkehrsmitteln gut erreichbar bleiben. Der Handel "
                "ist auf Kundschaft aus dem Umland angewiesen; zugleich braucht der Fußverkehr Vorrang "
                "in den Kernbereichen.\n\n"
                "- Parkleitsysteme zeigen freie Plätze in Echtzeit.\n"
                "- Sichere Radabstellanlagen entstehen an allen Eingängen der Fußgängerzonen.\n"
                "- Lieferverkehr wird zeitlich gebündelt.",
                "redaktion@mwi.example",
                "Abwägung Handel und Fußverkehr",
            ),
        ],
    ),
    (
        3,
        [
            (
                "Veranstaltungen und Stadtmarketing",
                "Gemeinsame Aktionstage sollen Besucher anziehen.",
                "wirtschaft@brueckenfeld.example",
                "",
            ),
            (
                "Veranstaltungen und Stadtmarketing",
                "Gemeinsame Aktionstage des Handels, der Gastronomie und der Kultur ziehen Besucherinnen "
                "und Besucher an. Ein abgestimmter Veranstaltungskalender verhindert, dass sich "
                "Termine benachbarter Städte überschneiden.",
                "wirtschaft@brueckenfeld.example",
                "Kalender abstimmen",
            ),
            (
                "Veranstaltungen und Stadtmarketing",
                "Gemeinsame Aktionstage des Handels, der Gastronomie und der Kultur ziehen Besucherinnen "
                "und Besucher an. Ein abgestimmter Veranstaltungskalender verhindert, dass sich "
                "Termine benachbarter Städte überschneiden.\n\n"
                "Die IHK berät Händlerinnen und Händler dabei, ihr Angebot *auch digital* sichtbar zu "
                "machen.",
                "standort@ihk-mittelland.example",
                "Digitale Sichtbarkeit",
            ),
        ],
    ),
    (
        1,
        [
            (
                "Umsetzung und Finanzierung",
                "Das Ministerium stellt Mittel aus dem Landesprogramm bereit.",
                "koordination@mwi.example",
                "",
            ),
            (
                "Umsetzung und Finanzierung",
                "Das Ministerium stellt Mittel aus dem Landesprogramm „Lebendige Zentren“ bereit. Die "
                "Städte bringen einen Eigenanteil ein; Kammer und Verband unterstützen mit Beratung "
                "und Öffentlichkeitsarbeit.\n\nDas Bündnis berichtet einmal im Jahr über den Stand.",
                "koordination@mwi.example",
                "Rollen der Partner",
            ),
        ],
    ),
]


def load_demo() -> list[tuple[str, str]]:
    """Create the demo alliance and return the logins with a short description."""
    orgs = {short: accounts.create_organisation(name, short, kind) for name, short, kind in ORGS}
    users: dict[str, User] = {}
    logins: list[tuple[str, str]] = []
    for email, name, short, roles, admin in USERS:
        # The shared, published demo password need not pass the strength check (see
        # accounts.create_user); real accounts never bypass it.
        users[email] = accounts.create_user(
            email, name, orgs[short], DEMO_PASSWORD, is_admin=admin, check_strength=False
        )
        described = ", ".join(r.value for r in roles) or ("administrator" if admin else "member")
        logins.append((email, f"{name} ({short}): {described}"))

    coordinator = users["koordination@mwi.example"]
    paper = paper_flow.create_paper(coordinator, TITLE, SUMMARY)
    for _name, short, _kind in ORGS[1:]:
        paper_flow.add_participant(coordinator, paper.id, short)
    for email, _name, _short, roles, _admin in USERS:
        for role in roles:
            paper_flow.grant_role(coordinator, paper.id, email, role)

    for level, versions in SECTIONS:
        title, body, author, note = versions[0]
        section = section_flow.add_section(
            users[author], paper.id, title=title, level=level, body=body, note=note
        )
        for number, (title, body, author, note) in enumerate(versions[1:], start=1):
            section_flow.save_section(
                users[author], section.id, title=title, body=body, base_version=number, note=note
            )
    return logins
