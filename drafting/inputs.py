"""Input the database cannot hold is refused with 400 before any view sees it (ASVS V5.1).

One mechanism per channel, so that no view has to remember a check:

- path ids: the ``int`` URL converter is bounded to ``MAX_INT`` (PostgreSQL's ``integer``);
  a larger id matches no route and answers 404;
- query strings: ``request.args.get(name, type=int)`` answers 400 for a number out of range
  (a word still gives the view's default, as before);
- form fields: ``BoundedIntegerField`` refuses out-of-range numbers as invalid;
- text anywhere (query strings, form fields, file names, JSON): NUL characters and lone
  UTF-16 surrogates answer 400 — PostgreSQL refuses NUL and neither database nor UTF-8 can
  hold a lone surrogate, so both backends behave alike;
- JSON bodies: ``NaN``/``Infinity``, numbers out of range and nesting deeper than
  ``MAX_JSON_DEPTH`` answer 400.

Refusals are ``BadRequest`` errors, answered by ``drafting.errors`` as the HTML error page
or ``{"error": {"code": "bad_request", "message"}}``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

from flask import Flask, Request, request
from flask.json.provider import DefaultJSONProvider
from sqlalchemy.exc import DataError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter
from wtforms import IntegerField

from drafting.extensions import db
from workflows.numbers import MAX_INT

MAX_JSON_DEPTH: Final = 32
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` up to ``MAX_INT``: a larger id is not found (whatever the method)."""

    def to_python(self, value: str) -> int:
        """Return the number, or answer 404 for one no id column can hold."""
        number = int(value)
        if number > MAX_INT:
            # NotFound rather than werkzeug's ValidationError: that one would make a POST
            # to a path that also has a GET-only rule answer 405.
            raise NotFound()
        return number


def bounded_int(value: str) -> int:
    """Parse a whole number in ``-MAX_INT…MAX_INT``.

    :raises ValueError: when the text is not a number (``get`` then gives the default).
    :raises BadRequest: when the number is out of range.
    """
    number = int(value)
    if not -MAX_INT <= number <= MAX_INT:
        raise BadRequest("a number in the request is out of range")
    return number


class BoundedArgs(ImmutableMultiDict[str, str]):
    """Query string and form values whose ``get(…, type=int)`` stays in range."""

    def get(  # type: ignore[override]
        self, key: str, default: Any = None, type: Callable[[str], Any] | None = None
    ) -> Any:
        """Return the value for ``key``, converted with ``type`` (``int`` is bounded)."""
        convert = bounded_int if type is int else type
        if convert is None:
            return super().get(key, default)
        return super().get(key, default, convert)


def _check_text(text: str, where: str) -> None:
    if _UNSAFE_TEXT.search(text):
        raise BadRequest(f"{where} contains a NUL character or a lone surrogate")


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a number this service accepts")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadRequest("the number is out of range")
    return number


def _check_json(data: Any) -> None:
    """Walk a parsed JSON document without recursion and refuse what cannot be stored."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value, "the JSON body")
        elif isinstance(value, bool) or value is None or isinstance(value, float):
            continue
        elif isinstance(value, int):
            if not -MAX_INT <= value <= MAX_INT:
                raise BadRequest("a number in the JSON body is out of range")
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise BadRequest(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
            items: Iterable[Any] = value
            if isinstance(value, dict):
                for key in value:
                    _check_text(key, "the JSON body")
                items = value.values()
            stack.extend((item, depth + 1) for item in items)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider whose parser refuses what the database cannot hold.

    Flask parses request bodies with the app's provider (``request.get_json``); the app
    itself parses no other JSON with it.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a request body.

        :raises ValueError: when it is not JSON (``get_json(silent=True)`` gives None).
        :raises BadRequest: when it is JSON this service refuses (also when ``silent``).
        """
        try:
            data = json.loads(s, parse_constant=_reject_constant, parse_float=_finite, **kwargs)
        except RecursionError:
            raise BadRequest(
                f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels"
            ) from None
        _check_json(data)
        return data


class BoundedRequest(Request):
    """Flask's request whose query string and form values bound ``get(…, type=int)``."""

    parameter_storage_class = BoundedArgs


class BoundedIntegerField(IntegerField):
    """An integer form field that refuses numbers beyond ``MAX_INT`` as not valid."""

    data: Any

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the number and refuse it when a database column could not hold it."""
        super().process_formdata(valuelist)
        if self.data is not None and not -MAX_INT <= self.data <= MAX_INT:
            self.data = None
            raise ValueError(self.gettext("Not a valid integer value."))


def reject_unsafe_text() -> None:
    """Refuse NUL characters and lone surrogates in the query string, form and file names."""
    for source in (request.args, request.form):
        for key, values in source.lists():
            _check_text(key, "the request")
            for value in values:
                _check_text(value, "the request")
    for upload in request.files.values():
        _check_text(upload.filename or "", "the file name")


def init_app(app: Flask) -> None:
    """Install the checks; call before any blueprint is registered (the converter)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = BoundedRequest
    app.json_provider_class = StrictJSONProvider
    app.json = StrictJSONProvider(app)
    app.before_request(reject_unsafe_text)

    @app.errorhandler(DataError)
    def data_error(err: DataError) -> Any:
        # A last line for what the checks above missed: the database refused a value (an
        # out-of-range number on PostgreSQL, say). The client sent it, so 400, not 500.
        db.session.rollback()
        app.logger.warning("database refused a value: %s", err.orig)
        return app.handle_http_exception(BadRequest("the database cannot store a value sent"))
