"""Packaging beyond what pyproject.toml can say: the checkout's ``templates/`` and
``migrations/`` folders ship inside the wheel as the data packages ``konzeptwerk_templates``
and ``konzeptwerk_migrations`` (the app finds them there when it is installed, and in the
checkout otherwise; see ``drafting.resources``). Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["drafting*", "workflows*", "exports*"]),
        "konzeptwerk_templates",
        "konzeptwerk_migrations",
    ],
    package_dir={
        "konzeptwerk_templates": "templates",
        "konzeptwerk_migrations": "migrations",
    },
    package_data={
        "drafting": [
            "translations/*/LC_MESSAGES/*.mo",
            "translations/*/LC_MESSAGES/*.po",
            "static/**/*",
        ],
        "konzeptwerk_templates": ["**/*.html", "**/*.txt", "**/*.xml"],
        "konzeptwerk_migrations": ["*.ini", "*.mako", "README", "*.py", "versions/*.py"],
    },
    include_package_data=False,
)
