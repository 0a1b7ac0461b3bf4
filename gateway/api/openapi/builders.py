"""How the OpenAPI document is written: its building blocks (a SID, a nullable string, an enum
that admits null, an RFC 2822 date, a closed object, a query parameter, a form body, an
operation and its answers). The data they build is in :mod:`.schemas` and :mod:`.paths`."""

from __future__ import annotations

from typing import Any, Final

from gateway.api.forms import MAX_PAGE_SIZE

Schema = dict[str, Any]

MAX_PAGE: Final = 999_999_999  # gateway.api.forms.integer reads at most nine digits
HTTP_METHODS: Final = ("GET", "POST")
# What any request may meet, whatever its route: a client too slow, a gateway that cannot
# store anything (a full disk) or has no connection to spare.
_ALWAYS: Final = (408, 503)
RFC2822_PATTERN: Final = (
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)


def ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def sid(prefix: str, description: str, *, nullable: bool = True) -> Schema:
    """Twilio's SID property: two letters (or alternatives) and 32 hex digits."""
    schema: Schema = {
        "type": "string",
        "minLength": 34,
        "maxLength": 34,
        "pattern": f"^{prefix}[0-9a-fA-F]{{32}}$",
        "description": description,
    }
    if nullable:
        schema["nullable"] = True
    return schema


def string(description: str, **extra: Any) -> Schema:
    return {"type": "string", "nullable": True, "description": description, **extra}


def enum(values: tuple[str, ...], description: str) -> Schema:
    # OpenAPI 3.0.3: with ``nullable``, an enum admits null only if it lists it.
    return {
        "type": "string",
        "nullable": True,
        "enum": [*values, None],
        "description": description,
    }


def date(description: str) -> Schema:
    return string(
        f"{description}, RFC 2822 in GMT", format="date-time-rfc-2822", pattern=RFC2822_PATTERN
    )


def method(description: str) -> Schema:
    return {
        "type": "string",
        "format": "http-method",
        "nullable": True,
        "enum": [*HTTP_METHODS, None],
        "description": description,
    }


def closed_object(properties: Schema, *, title: str | None = None) -> Schema:
    """Every listed key is always present, and no other."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if title is not None:
        schema["title"] = title
    return schema


def path_sid(name: str, prefix: str, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": sid(prefix, description, nullable=False),
    }


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "description": description, "schema": schema}


def paging(
    token: str = "The page token, from a next/previous_page_uri",
) -> list[Schema]:
    return [
        query(
            "PageSize",
            {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            f"How many resources a page has: 50 unless given, at most {MAX_PAGE_SIZE}",
        ),
        query(
            "Page",
            {"type": "integer", "minimum": 0, "maximum": MAX_PAGE},
            "The page index, simply for client state; over 0 only with the PageToken of a "
            "next/previous_page_uri (20001 otherwise)",
        ),
        query("PageToken", {"type": "string"}, token),
    ]


def json_content(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def responses(success: dict[int, Schema], *errors: int) -> Schema:
    answers: Schema = {str(status): response for status, response in success.items()}
    for status in sorted({*errors, *_ALWAYS}):
        # A route's own answer for the status stays (/healthz's 503 says why, in its own body).
        answers.setdefault(str(status), ref("responses", f"Error{status}"))
    return answers


def form_body(properties: Schema, *, required: tuple[str, ...] = (), title: str) -> Schema:
    schema: Schema = {"type": "object", "title": title, "properties": properties}
    if required:
        schema["required"] = list(required)
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


def operation(operation_id: str, summary: str, responses: Schema, **extra: Any) -> Schema:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [extra.pop("tag")],
        "responses": responses,
        **extra,
    }


def boolean(description: str) -> Schema:
    return {"type": "boolean", "description": description}
