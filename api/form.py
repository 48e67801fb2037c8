"""One declaration of a route's fields, read both by Swagger and by validation.

A Form is restx's RequestParser: ``@MAX_API.expect(form)`` documents its fields in swagger.json,
and ``form.parse()`` validates a request against the same fields. A field's type is a converter
whose ``__schema__`` says what it accepts (type, enum, minimum, maximum) and whose ValueError names
the field and the value, so that what Swagger says a field takes is what the route takes. A bound
or a default that a setting holds (MAX_VIDEO_FPS, MODEL_TTA) is read from the app, for Swagger and
for the request alike.

Each route declares its own Form; api/uploads.py holds the fields that several routes share."""
import json
import math
import re

from flask import current_app, request
from flask_restx.reqparse import Argument, RequestParser
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest


def settings():
    return current_app.extensions["max_settings"]


def bound(value):
    """A declared bound: a number, or the name of the setting that holds it."""
    return getattr(settings(), value) if isinstance(value, str) else value


def shown(text):
    return repr(text[:40])


def quoted(names):
    return ", ".join(repr(name) if name is not None else "without a readable name" for name in names)


def plural(names):
    return "s" if len(names) > 1 else ""


class Field(Argument):
    """A text field (location "form") or a file field ("files") of a Form. ``example`` fills Swagger
    UI's box (x-example) and the message of a required field left out; ``most`` is how many files
    a request may hold: a number, or the setting that says."""

    def __init__(self, name, type=str, location="form", most=1, example=None, **kwargs):
        super().__init__(name, type=FileStorage if location == "files" else type, location=location, **kwargs)
        self.most, self.example = most, example

    @property
    def __schema__(self):
        param = super().__schema__
        if self.example is not None and self.location != "files":
            param["x-example"] = self.example
        return param

    def handle_validation_error(self, error, bundle_errors):
        # restx passes a str for a required field left out (choices are the types' own, never
        # restx's), and the type's ValueError, which names the field; anything else is a bug: a 500.
        if isinstance(error, str):
            raise BadRequest(self.missing())
        if isinstance(error, ValueError):
            raise BadRequest(str(error)) from None
        raise error

    def missing(self):
        if self.location == "files":
            files = "one file" if self.most == 1 else "one file or more"
            return (f"no file in the form field {self.name!r}; send {files} in the form field {self.name!r} "
                    "of a multipart/form-data body, "
                    f"e.g. curl -F {self.name}=@{self.example}")
        return (f"no form field {self.name!r}; send it{getattr(self.type, 'sent_as', '')}, "
                f"e.g. -F '{self.name}={self.example}'")


class Form(RequestParser):
    """A route's fields, each a Field. ``parse()`` gives their values by name (a file field: its
    uploads, in order) or a 400 that names the field."""

    def __init__(self, argument_class=Field, *args, **kwargs):
        super().__init__(argument_class, *args, **kwargs)

    def parse(self):
        self.refuse_undeclared()
        # strict: restx refuses what is left unparsed of the query string, the text fields and a
        # JSON body; refuse_undeclared has already named the first two, and the files restx never sees.
        values = self.parse_args(strict=True)
        for field in self.args:
            if field.location == "files":
                values[field.name] = self.uploads(field)
        return values

    def takes(self):
        files = [f.name for f in self.args if f.location == "files"]
        texts = [f.name for f in self.args if f.location != "files"]
        said = ([f"files in the field{plural(files)} {quoted(files)}"] if files else []) + (
            [f"the field{plural(texts)} {quoted(texts)}"] if texts else [])
        return "only " + ", and ".join(said) if said else "no fields"

    def refuse_undeclared(self):
        """A 400 for a part or parameter that is not declared, or not where it is declared
        (a text field sent as a file, a form field in the query string), or sent twice."""
        files = {f.name: f for f in self.args if f.location == "files"}
        texts = {f.name for f in self.args if f.location == "form"}
        query = {f.name for f in self.args if f.location == "args"}
        # A part whose name is no text (undecodable bytes) has the name None: unknown too.
        unknown = sorted((set(request.files) | set(request.form)) - set(files) - texts, key=str)
        if unknown:
            raise BadRequest(f"unknown form field{plural(unknown)} {quoted(unknown)}: "
                             f"this endpoint takes {self.takes()}")
        misplaced = sorted(set(request.args) & (set(files) | texts))
        if misplaced:
            raise BadRequest(f"{quoted(misplaced)} must be sent in the multipart/form-data body, "
                             "not in the query string")
        unknown = sorted(set(request.args) - query)
        if unknown:
            raise BadRequest(f"unknown query parameter{plural(unknown)} {quoted(unknown)}: "
                             f"this endpoint takes {self.takes()}")
        for name in sorted(set(request.form) & set(files)):
            raise BadRequest(f"{name} must be a file in a multipart/form-data body "
                             f"(curl -F {name}=@{files[name].example}), not a text field")
        for name in sorted(set(request.files) & texts):
            raise BadRequest(f"{name} is a text field, not a file")
        for name in sorted(texts):
            if len(sent := request.form.getlist(name)) > 1:
                raise BadRequest(f"{name} is sent {len(sent)} times; send it once")

    @staticmethod
    def uploads(field):
        uploads = request.files.getlist(field.name)
        most = bound(field.most)
        if len(uploads) > most:
            per = (f"at most {most} per request" if isinstance(field.most, str) else
                   f"{request.path} takes {'one' if most == 1 else most} {field.name} per request")
            raise BadRequest(f"{len(uploads)} {field.name}s sent; {per}")
        return uploads


class Kind:
    """A field's type: restx calls it with the text and the field's name, and writes its
    ``__schema__`` into the field's Swagger parameter."""
    schema = {"type": "string"}

    def __call__(self, value, name, op=None):
        return self.convert(value, name)

    @property
    def __schema__(self):
        return dict(self.schema)


class Boolean(Kind):
    """true or false, as Swagger's boolean is written (restx's inputs.boolean also takes 1, on and
    0, which the schema does not say)."""
    schema = {"type": "boolean"}

    def convert(self, value, name):
        if value not in ("true", "false"):
            raise ValueError(f"{name} must be true or false, not {shown(value)}")
        return value == "true"


INTEGER = re.compile(r"-?\d{1,18}")
NUMBER = re.compile(r"-?(\d{1,40}\.?\d{0,40}|\.\d{1,40})([eE][-+]?\d{1,4})?")


class Number(Kind):
    """A whole number (``kind=int``) or a finite number, from ``minimum`` (or strictly ``above``)
    to ``maximum``; a bound may be the name of the setting that holds it."""

    def __init__(self, kind=float, minimum=None, maximum=None, above=None):
        self.kind, self.minimum, self.maximum, self.above = kind, minimum, maximum, above

    @property
    def __schema__(self):
        schema = {"type": "integer" if self.kind is int else "number"}
        if self.minimum is not None or self.above is not None:
            schema["minimum"] = self.minimum if self.above is None else self.above
        if self.above is not None:
            schema["exclusiveMinimum"] = True
        if self.maximum is not None:
            schema["maximum"] = bound(self.maximum)
        return schema

    def within(self, number):
        high = bound(self.maximum) if self.maximum is not None else math.inf
        return (math.isfinite(number) and number <= high and (self.minimum is None or number >= self.minimum)
                and (self.above is None or number > self.above))

    def range(self):
        high = (f"at most {bound(self.maximum):g}" + (f" ({self.maximum})" if isinstance(self.maximum, str) else "")
                if self.maximum is not None else "")
        if self.above is not None:
            return f"above {self.above:g}" + (f" and {high}" if high else "")
        if self.minimum is not None:
            return f"{self.minimum:g}..{high.removeprefix('at most ')}" if high else f"at least {self.minimum:g}"
        return high

    def convert(self, value, name):
        if (INTEGER if self.kind is int else NUMBER).fullmatch(value):
            number = self.kind(value)
            if self.within(number):
                return number
            if math.isfinite(number):
                raise ValueError(f"{name} must be {self.range()}, not {number:g}")
        raise ValueError(f"{name} must be {'a whole number' if self.kind is int else 'a number'} {self.range()}, "
                         f"not {shown(value)}")


class Choice(Kind):
    """One of ``choices()`` (read from the app, e.g. the outputs it serves): Swagger's enum."""

    def __init__(self, choices, what):
        self.choices, self.what = choices, what

    @property
    def __schema__(self):
        return {"type": "string", "enum": list(self.choices())}

    def convert(self, value, name):
        if value not in (choices := self.choices()):
            raise ValueError(f"{name} must be one of {self.what} ({', '.join(choices)}), not {shown(value)}")
        return value


class Text(Kind):
    """Text that ``parse(text, name)`` reads, raising a ValueError (FieldError) that names it."""

    def __init__(self, parse):
        self.parse = parse

    def convert(self, value, name):
        return self.parse(value, name)


class Json(Kind):
    """Text that is JSON, decoded, then read by ``parse(decoded, name)`` when there is one."""
    sent_as = " as JSON"  # what a required field's message asks for

    def __init__(self, parse=None):
        self.parse = parse

    def convert(self, value, name):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"{name} is not valid JSON ({error.msg} at character {error.pos})") from None
        except ValueError as error:  # valid JSON Python will not hold: an integer of over 4,300 digits
            raise ValueError(f"{name} cannot be read as JSON ({str(error)[:120]})") from None
        except RecursionError:  # "[[[[..." a few thousand deep: Python's parser gives up, not a ValueError
            raise ValueError(f"{name} is nested too deeply to be read as JSON") from None
        return self.parse(decoded, name) if self.parse else decoded

