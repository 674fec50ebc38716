"""The only SQL of templates and buckets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.core.models import utcnow
from lxc_manager.models import Template, TemplateBucketUse, TemplateRevision, TemplateStatus, TemplateTag

SORTS = {
    "name": (Template.name.asc(),),
    "-name": (Template.name.desc(),),
    "updated_at": (Template.updated_at.asc(), Template.name.asc()),
    "-updated_at": (Template.updated_at.desc(), Template.name.asc()),
    "created_at": (Template.created_at.asc(), Template.name.asc()),
    "-created_at": (Template.created_at.desc(), Template.name.asc()),
}


@dataclass(frozen=True)
class TemplateState:
    """What the sync needs to know about a stored template, read without loading ORM objects."""

    id: str
    name: str
    folder: str | None
    status: str
    current_revision: int
    content_hash: str


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def states(self) -> dict[str, TemplateState]:
        rows = await self.session.execute(
            select(
                Template.id,
                Template.name,
                Template.folder,
                Template.status,
                Template.current_revision,
                Template.content_hash,
            )
        )
        return {row.name: TemplateState(*row) for row in rows}

    async def get(self, name: str) -> Template | None:
        result: Template | None = await self.session.scalar(
            select(Template).where(Template.name == name).execution_options(populate_existing=True)
        )
        return result

    async def revision(self, template_id: str, number: int) -> TemplateRevision | None:
        result: TemplateRevision | None = await self.session.scalar(
            select(TemplateRevision).where(
                TemplateRevision.template_id == template_id, TemplateRevision.number == number
            )
        )
        return result

    async def revisions(self, template_id: str, *, limit: int, offset: int) -> tuple[Sequence[Any], int]:
        total = await self.session.scalar(
            select(func.count()).select_from(TemplateRevision).where(TemplateRevision.template_id == template_id)
        )
        rows = await self.session.execute(
            select(
                TemplateRevision.number,
                TemplateRevision.content_hash,
                TemplateRevision.author,
                TemplateRevision.message,
                TemplateRevision.created_at,
            )
            .where(TemplateRevision.template_id == template_id)
            .order_by(TemplateRevision.number.desc())
            .limit(limit)
            .offset(offset)
        )
        return rows.all(), int(total or 0)

    def add_template(self, template: Template) -> None:
        self.session.add(template)

    def add_revision(self, revision: TemplateRevision) -> None:
        self.session.add(revision)

    async def insert_many(
        self,
        templates: list[dict[str, Any]],
        revisions: list[dict[str, Any]],
        tags: list[dict[str, Any]],
        bucket_uses: list[dict[str, Any]],
    ) -> None:
        """Bulk insert (one executemany per table) for the cold sync."""
        for model, rows in (
            (Template, templates),
            (TemplateRevision, revisions),
            (TemplateTag, tags),
            (TemplateBucketUse, bucket_uses),
        ):
            if rows:
                await self.session.execute(insert(model), rows)

    async def advance(self, template_id: str, expected_revision: int, values: dict[str, Any]) -> bool:
        """Move to revision ``expected + 1`` only if nobody else did first (optimistic concurrency)."""
        result = await self.session.execute(
            update(Template)
            .where(Template.id == template_id, Template.current_revision == expected_revision)
            .values(current_revision=expected_revision + 1, updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def set_index(self, template_id: str, tags: list[str], buckets: list[str]) -> None:
        await self.session.execute(delete(TemplateTag).where(TemplateTag.template_id == template_id))
        await self.session.execute(delete(TemplateBucketUse).where(TemplateBucketUse.template_id == template_id))
        if tags:
            await self.session.execute(
                insert(TemplateTag), [{"template_id": template_id, "tag": tag} for tag in dict.fromkeys(tags)]
            )
        if buckets:
            await self.session.execute(
                insert(TemplateBucketUse),
                [{"template_id": template_id, "bucket_name": b} for b in dict.fromkeys(buckets)],
            )

    async def set_status(self, template_ids: Sequence[str], status: TemplateStatus) -> None:
        if not template_ids:
            return
        now = utcnow()
        await self.session.execute(
            update(Template)
            .where(Template.id.in_(template_ids))
            .values(
                status=status.value,
                archived_at=now if status == TemplateStatus.archived else None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )

    async def set_folder(self, template_id: str, folder: str | None) -> None:
        await self.session.execute(
            update(Template)
            .where(Template.id == template_id)
            .values(folder=folder)
            .execution_options(synchronize_session=False)
        )

    async def search(
        self,
        *,
        q: str | None,
        tag: str | None,
        os: str | None,
        bucket: str | None,
        origin: str | None,
        status: str | None,
        sort: str,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Template], int]:
        query = select(Template)
        if q:
            pattern = f"%{like_escape(q.lower())}%"
            tag_match = select(TemplateTag.template_id).where(func.lower(TemplateTag.tag).like(pattern, escape="\\"))
            query = query.where(
                or_(
                    func.lower(Template.name).like(pattern, escape="\\"),
                    func.lower(Template.description).like(pattern, escape="\\"),
                    Template.id.in_(tag_match),
                )
            )
        if tag:
            query = query.where(Template.id.in_(select(TemplateTag.template_id).where(TemplateTag.tag == tag)))
        if bucket:
            query = query.where(
                Template.id.in_(select(TemplateBucketUse.template_id).where(TemplateBucketUse.bucket_name == bucket))
            )
        if os:
            query = query.where(Template.os_template == os)
        if origin:
            query = query.where(Template.origin == origin)
        if status:
            query = query.where(Template.status == status)
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(query.order_by(*SORTS[sort]).limit(limit).offset(offset))
        return rows.all(), int(total or 0)

    async def bucket_names_by_template(self, template_ids: Sequence[str]) -> dict[str, list[str]]:
        if not template_ids:
            return {}
        rows = await self.session.execute(
            select(TemplateBucketUse.template_id, TemplateBucketUse.bucket_name)
            .where(TemplateBucketUse.template_id.in_(template_ids))
            .order_by(TemplateBucketUse.bucket_name)
        )
        out: dict[str, list[str]] = {}
        for template_id, bucket_name in rows:
            out.setdefault(template_id, []).append(bucket_name)
        return out

    async def templates_using_bucket(self, bucket: str, *, active_only: bool = True) -> list[str]:
        query = (
            select(Template.name)
            .join(TemplateBucketUse, TemplateBucketUse.template_id == Template.id)
            .where(TemplateBucketUse.bucket_name == bucket)
            .order_by(Template.name)
        )
        if active_only:
            query = query.where(Template.status == TemplateStatus.active.value)
        return list((await self.session.scalars(query)).all())
