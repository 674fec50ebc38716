"""The only SQL of package buckets."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lxc_manager.models import Bucket
from lxc_manager.templates.repository import like_escape


class BucketRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Bucket]:
        return list((await self.session.scalars(select(Bucket).order_by(Bucket.name))).all())

    async def packages_by_name(self, names: Sequence[str]) -> dict[str, list[str]]:
        if not names:
            return {}
        rows = await self.session.execute(select(Bucket.name, Bucket.packages).where(Bucket.name.in_(names)))
        return {name: list(packages) for name, packages in rows}

    async def get(self, name: str) -> Bucket | None:
        result: Bucket | None = await self.session.scalar(select(Bucket).where(Bucket.name == name))
        return result

    async def search(self, *, q: str | None, limit: int, offset: int) -> tuple[Sequence[Bucket], int]:
        query = select(Bucket)
        if q:
            pattern = f"%{like_escape(q.lower())}%"
            query = query.where(
                or_(
                    func.lower(Bucket.name).like(pattern, escape="\\"),
                    func.lower(Bucket.description).like(pattern, escape="\\"),
                )
            )
        total = await self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.session.scalars(query.order_by(Bucket.name).limit(limit).offset(offset))
        return rows.all(), int(total or 0)

    def add(self, bucket: Bucket) -> None:
        self.session.add(bucket)

    async def delete(self, bucket: Bucket) -> None:
        await self.session.delete(bucket)

    async def delete_by_names(self, names: Sequence[str]) -> None:
        if names:
            await self.session.execute(delete(Bucket).where(Bucket.name.in_(names)))
