"""Letters: publishing template versions, rendering a letter from data, and keeping sent documents.

Publishing mirrors the checklists: one transaction per template; the document is checked (schema, then every
field against what its kind offers), the kind's row is locked, unchanged content adds nothing, new content is
the next version. The database refuses any change to a published version.

Rendering takes the latest version of the kind's template, derives every field the template uses from the
data (a field whose data is missing is a 422 naming it, nothing is rendered), and sets the letter on the fixed
layout. The result is deterministic: the same data and template version give the same bytes and SHA-256.

A document that is made known is stored write-once in the evidence store under its SHA-256 (kind 'document');
reading it back checks the hash, so a changed file is detected, never served.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.core import audit
from backend.core.config import Settings
from backend.core.errors import FieldProblems, NotFound, Unprocessable, validation_field_error
from backend.core.ids import new_id
from backend.core.publishing import FileReport, checked_content, next_version, publish_files, refused, template_files
from backend.core.storage import BlobMissing, FileSystemStore, Spool
from backend.letters import fields, queries, render, templates
from backend.letters.models import LetterData, LetterKind, LetterTemplateVersion, Rendered

DEFAULT_SALUTATION = "Geachte heer, mevrouw,"
DEFAULT_CLOSING = "Hoogachtend,"


# --- publishing ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    outcome: str  # "published" or "unchanged"
    version: LetterTemplateVersion


async def publish(
    tx: asyncpg.Connection, document: Any, *, actor: audit.Actor, published_by: UUID | None, request_id: str | None
) -> Publication:
    """Publish a template document as its kind's next version, or report it unchanged; raises Unprocessable."""
    content = checked_content(
        tx, document, templates.check_template, detail="The letter template is invalid.", code="letter_template_invalid"
    )
    kind, sha = content["kind"], templates.content_sha256(content)
    await tx.execute(queries.INSERT_TEMPLATE, kind, content["title"])
    await tx.fetchrow(queries.LOCK_TEMPLATE, kind)
    latest = await tx.fetchrow(queries.LATEST_VERSION, kind)
    if latest is not None and latest["content_sha256"] == sha:
        return Publication("unchanged", _version(latest))
    number = next_version(latest)
    version_id = new_id()
    await tx.execute(
        queries.INSERT_VERSION,
        version_id,
        kind,
        number,
        content["title"],
        date.fromisoformat(content["valid_from"]),
        content,
        sha,
        published_by,
    )
    await tx.execute(queries.SET_TEMPLATE_TITLE, kind, content["title"])
    await audit.record(
        tx,
        actor=actor,
        action="letter_template.published",
        object_type="letter_template",
        object_id=kind,
        request_id=request_id,
        after={"version_id": str(version_id), "version": number, "content_sha256": sha},
    )
    return Publication("published", _version(await tx.fetchrow(queries.GET_VERSION, version_id)))


def _version(row: asyncpg.Record) -> LetterTemplateVersion:
    return msgspec.convert(dict(row), LetterTemplateVersion)


async def publish_directory(conn: asyncpg.Connection, directory: Path) -> list[FileReport]:
    """Publish every *.json template in `directory`, each in its own transaction (a refused file stores nothing
    and does not stop the others)."""
    return await publish_files(conn, template_files(directory), identity="kind", publish=publish)


async def latest_version(conn: asyncpg.Connection, kind: LetterKind) -> LetterTemplateVersion:
    row = await conn.fetchrow(queries.LATEST_VERSION, kind)
    if row is None:
        raise Unprocessable(
            f"No letter template for {kind} is published; publish schemas/letters first.",
            code="letter_template_missing",
        )
    return _version(row)


# --- rendering -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Letters:
    """What rendering and storing letters works with: the renderer, the letterhead, the settings, the store."""

    settings: Settings
    renderer: render.Renderer
    letterhead: dict[str, Any]
    store: FileSystemStore
    spool: Spool


@functools.cache
def _renderer(logo_file: str) -> render.Renderer:
    return render.Renderer(render.load_logo(Path(logo_file)))


def letters_for(settings: Settings) -> Letters:
    """The default wiring: letterhead and logo from the settings, documents under <data_dir>/evidence."""
    data = Path(settings.data_dir)
    return Letters(
        settings=settings,
        renderer=_renderer(settings.letter_logo_file),
        letterhead=render.load_letterhead(Path(settings.letterhead_file)),
        store=FileSystemStore(data / "evidence"),
        spool=Spool(data / "tmp" / "documents"),
    )


def parse_letter_data(raw: Any) -> LetterData:
    """LetterData from JSON-like values (a step's stored addressee and facts); 422 letter_data_invalid naming the
    member that is missing or wrong (a letter without an addressee is never made)."""
    try:
        return msgspec.convert(raw, LetterData)
    except msgspec.ValidationError as exc:
        problems = FieldProblems("The letter data is incomplete or invalid; nothing was rendered.")
        problems.extend([validation_field_error(exc)], "letter_data_invalid")
        raise problems.error() from None


async def render_letter(conn: asyncpg.Connection, letters: Letters, kind: LetterKind, data: LetterData) -> Rendered:
    """The letter of `kind` for `data`, with the latest published template; 422 letter_data_missing naming every
    piece of data the template needs and `data` lacks."""
    version = await latest_version(conn, kind)
    return await render_with(letters, version, data)


async def render_with(letters: Letters, version: LetterTemplateVersion, data: LetterData) -> Rendered:
    context = fields.Context(data, letters.letterhead, frozenset(letters.settings.atw_authority_terms))
    document = compose(version, context)
    pdf = await asyncio.to_thread(letters.renderer.render, document, data.terms.sent_on)
    return Rendered(
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        template_version_id=version.id,
        template_version=version.version,
    )


def compose(version: LetterTemplateVersion, context: fields.Context) -> dict[str, Any]:
    """The document the layout sets: the template's texts with their fields filled, plus the fixed parts."""
    filler = _Filler(version.kind, context)
    content = version.content
    subject = filler.fill(content["subject"])
    blocks = [block for raw in content["body"] if (block := filler.block(raw)) is not None]
    filler.raise_missing()
    data, letterhead = context.data, context.letterhead
    signer = data.signer
    return {
        "title": subject,
        "author": letterhead["sender"][0],
        "kenmerk": data.case.kenmerk,
        "sender": letterhead["sender"],
        "return_address": letterhead["return_address"],
        "addressee": _address_lines(data),
        "meta": [
            ["Datum", fields.value(context, fields.COMMON["letter.date"])],
            ["Ons kenmerk", data.case.kenmerk],
            ["Onderwerp", subject],
        ],
        "salutation": content.get("salutation", DEFAULT_SALUTATION),
        "blocks": blocks,
        "closing": content.get("closing", DEFAULT_CLOSING),
        "signature": {
            "before": [f"{_capital(signer.on_behalf_of)},", "namens deze,"] if signer.on_behalf_of else [],
            "after": [signer.name, signer.function],
        },
    }


def _address_lines(data: LetterData) -> list[str]:
    addressee = data.addressee
    attention = [f"t.a.v. {addressee.attention}"] if addressee.attention else []
    return [addressee.name, *attention, addressee.street, f"{addressee.postcode}  {addressee.city}"]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Filler:
    """Fills a template's texts, collecting every missing piece of data before it refuses."""

    def __init__(self, kind: str, context: fields.Context) -> None:
        self.offered = fields.FIELDS[kind]
        self.context = context
        self.missing: dict[str, str] = {}
        self.kind = kind

    def _value(self, name: str) -> str | None:
        try:
            return fields.value(self.context, self.offered[name])
        except fields.MissingData as exc:
            self.missing.setdefault(exc.pointer, name)
            return None

    def fill(self, text: str) -> str:
        return templates.FIELD.sub(lambda match: self._value(match.group(1)) or "", text)

    def block(self, raw: Any) -> dict[str, Any] | None:
        if isinstance(raw, str):
            return {"p": self.fill(raw)}
        if "heading" in raw:
            return {"h": self.fill(raw["heading"])}
        if "each" in raw:
            return self._list(raw["item"])
        if "if" in raw:
            try:
                fields.value(self.context, self.offered[raw["if"]])
            except fields.MissingData:
                return None
            return {"p": self.fill(raw["text"])}
        raise ValueError("a published template holds only the blocks its schema allows")

    def _list(self, item: str) -> dict[str, Any] | None:
        names = templates.placeholders(item)
        try:
            findings = fields.finding_items(self.context, names)
        except fields.MissingData as exc:
            self.missing.setdefault(exc.pointer, "facts.findings")
            return None
        return {"ul": [_item_for(item, finding) for finding in findings]}

    def raise_missing(self) -> None:
        if self.missing:
            raise refused(
                f"The data lacks what the {self.kind} letter states; nothing was rendered.",
                "letter_data_missing",
                [(pointer, f"is required for {{{{{name}}}}}") for pointer, name in self.missing.items()],
            )


def _item_for(item: str, finding: dict[str, str]) -> str:
    """A list item's text with its placeholders filled from one finding."""
    return templates.FIELD.sub(lambda match: finding[match.group(1)], item)


# --- documents: write-once by SHA-256 --------------------------------------------------------------------------


class DocumentTampered(Exception):
    """A stored document no longer hashes to its name: it was changed after it was stored."""


async def store_document(letters: Letters, rendered: Rendered) -> bool:
    """Keep the PDF write-once under its SHA-256; True when stored now, False when it was there already."""
    with letters.spool.file() as spooled:
        await asyncio.to_thread(spooled.write, rendered.pdf)
        return await letters.store.put("document", rendered.sha256, spooled.path)


async def read_document(letters: Letters, sha256: str) -> bytes:
    """A stored document's bytes, checked against its name; NotFound when absent, DocumentTampered when changed."""
    try:
        blob = await letters.store.open("document", sha256)
    except BlobMissing:
        raise NotFound("No such document.") from None
    content = b"".join([chunk async for chunk in blob.chunks])
    if hashlib.sha256(content).hexdigest() != sha256:
        raise DocumentTampered(sha256)
    return content
