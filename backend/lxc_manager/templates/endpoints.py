from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from lxc_manager.auth.dependencies import ReadPrincipal, WritePrincipal
from lxc_manager.auth.principal import Principal
from lxc_manager.core.deps import DBSession, SettingsDep, client_ip
from lxc_manager.core.errors import BadRequest, PayloadTooLarge, responses
from lxc_manager.templates import catalogue, service
from lxc_manager.templates.archive import MAX_UPLOAD_BYTES
from lxc_manager.templates.format import SLUG_PATTERN
from lxc_manager.templates.schemas import (
    CloneIn,
    RevisionDetail,
    RevisionDiff,
    RevisionPage,
    SyncProblem,
    SyncReportOut,
    TemplateDetail,
    TemplatePage,
    TemplateWrite,
)
from lxc_manager.templates.sync import SyncReport

router = APIRouter(prefix="/templates", tags=["templates"], responses=responses(401, 403))

TemplateName = Annotated[str, Path(pattern=SLUG_PATTERN, description="Template name")]
IfMatch = Annotated[str | None, Header(description="ETag of the revision being edited (from GET)")]
GZIP_TYPES = {"application/gzip", "application/x-gzip", "application/x-tar+gzip", "application/octet-stream"}
MULTIPART_OVERHEAD = 64 * 1024
# A full template as JSON: 16 MiB of files, base64 inflates by 4/3, plus the manifest.
MAX_JSON_BODY = 24 * 1024 * 1024


def _actor(request: Request, principal: Principal) -> service.Actor:
    return service.Actor(id=principal.user.id, name=principal.user.username, ip=client_ip(request))


def _raw(name: str | None, body: TemplateWrite) -> Any:
    files = {path: (f.content, f.encoding, f.mode) for path, f in body.files.items()}
    return service.build_raw(name, body.manifest, body.manifest_yaml, files)


async def _detail(db: DBSession, settings: SettingsDep, name: str, response: Response) -> TemplateDetail:
    template = await catalogue.get_template(db, name)
    detail = await catalogue.template_detail(db, settings, template)
    response.headers["ETag"] = detail.etag
    return detail


def _report(report: SyncReport) -> SyncReportOut:
    return SyncReportOut(
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
        archived=report.archived,
        errors=[SyncProblem(**p.as_dict()) for p in report.errors],
        buckets=report.buckets.__dict__,
    )


@router.get("", operation_id="list_templates", response_model=TemplatePage)
async def list_templates(
    _: ReadPrincipal,
    db: DBSession,
    q: Annotated[str | None, Query(max_length=200, description="Search name, description and tags")] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    os: Annotated[str | None, Query(max_length=100, description="OS template, e.g. debian-12-standard")] = None,
    bucket: Annotated[str | None, Query(max_length=64, description="Templates using this bucket")] = None,
    origin: Literal["filesystem", "dashboard", "imported"] | None = None,
    status_: Annotated[Literal["active", "archived", "all"], Query(alias="status")] = "active",
    sort: Literal["name", "-name", "updated_at", "-updated_at", "created_at", "-created_at"] = "name",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TemplatePage:
    """The catalogue: text search, filters, sorting and pagination."""
    return await catalogue.list_templates(
        db,
        q=q,
        tag=tag,
        os=os,
        bucket=bucket,
        origin=origin,
        status=None if status_ == "all" else status_,
        sort=sort,
        limit=limit,
        offset=offset,
    )


@router.post(
    "",
    operation_id="create_template",
    response_model=TemplateDetail,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 409, 413, 415, 422, 503),
    max_body_size=MAX_JSON_BODY,  # streamed limit: refused while reading, before parsing
)
async def create_template(
    request: Request,
    principal: WritePrincipal,
    db: DBSession,
    settings: SettingsDep,
    body: TemplateWrite,
    response: Response,
) -> TemplateDetail:
    """Create a template (revision 1); written into the templates folder when it is writable."""
    template = await service.create_template(db, settings, _actor(request, principal), _raw(None, body), body.message)
    return await _detail(db, settings, template.name, response)


@router.post("/sync", operation_id="sync_templates", response_model=SyncReportOut, responses=responses(409))
async def sync_templates(
    request: Request, principal: WritePrincipal, db: DBSession, settings: SettingsDep
) -> SyncReportOut:
    """Discover the templates and buckets folders now; broken templates are listed in errors."""
    return _report(await service.run_sync(db, settings, _actor(request, principal)))


@router.post(
    "/import",
    operation_id="import_template",
    response_model=TemplateDetail,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 409, 413, 422, 503),
    max_body_size=MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "application/gzip": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def import_template(
    request: Request, principal: WritePrincipal, db: DBSession, settings: SettingsDep, response: Response
) -> TemplateDetail:
    """Import a template folder packed as tar.gz (multipart field `file`, or the raw body as application/gzip)."""
    data = await _read_upload(request)
    template = await service.import_template(db, settings, _actor(request, principal), data)
    return await _detail(db, settings, template.name, response)


async def _read_upload(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"archive larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest("multipart field 'file' (the tar.gz) is missing", code="invalid_archive")
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
    elif content_type in GZIP_TYPES:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise PayloadTooLarge(f"archive larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
            chunks.append(chunk)
        data = b"".join(chunks)
    else:
        raise BadRequest(
            "send the tar.gz as multipart/form-data (field 'file') or application/gzip", code="unsupported_media_type"
        )
    if len(data) > MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"archive larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    return data


@router.get("/{name}", operation_id="get_template", response_model=TemplateDetail, responses=responses(404))
async def get_template(
    _: ReadPrincipal, db: DBSession, settings: SettingsDep, name: TemplateName, response: Response
) -> TemplateDetail:
    """Everything about a template: config, scripts, hooks, files, resolved packages, services, inputs."""
    return await _detail(db, settings, name, response)


@router.put(
    "/{name}",
    operation_id="update_template",
    response_model=TemplateDetail,
    responses=responses(400, 404, 409, 412, 413, 415, 422, 428, 503),
    max_body_size=MAX_JSON_BODY,  # streamed limit: refused while reading, before parsing
)
async def update_template(
    request: Request,
    principal: WritePrincipal,
    db: DBSession,
    settings: SettingsDep,
    name: TemplateName,
    body: TemplateWrite,
    response: Response,
    if_match: IfMatch = None,
) -> TemplateDetail:
    """Replace the manifest and files (a new revision). Needs If-Match: 412 when stale, 428 when missing."""
    await service.update_template(
        db, settings, _actor(request, principal), name, _raw(name, body), body.message, if_match
    )
    return await _detail(db, settings, name, response)


@router.delete(
    "/{name}",
    operation_id="delete_template",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(404, 409, 412, 428, 503),
)
async def delete_template(
    request: Request,
    principal: WritePrincipal,
    db: DBSession,
    settings: SettingsDep,
    name: TemplateName,
    if_match: IfMatch = None,
) -> Response:
    """Archive the template (revisions stay) and remove its folder; 409 when the folder is read-only."""
    await service.delete_template(db, settings, _actor(request, principal), name, if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{name}/clone",
    operation_id="clone_template",
    response_model=TemplateDetail,
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 404, 409, 415, 422, 503),
)
async def clone_template(
    request: Request,
    principal: WritePrincipal,
    db: DBSession,
    settings: SettingsDep,
    name: TemplateName,
    body: CloneIn,
    response: Response,
) -> TemplateDetail:
    """Copy the current revision under a new name."""
    template = await service.clone_template(db, settings, _actor(request, principal), name, body.name, body.message)
    return await _detail(db, settings, template.name, response)


@router.get(
    "/{name}/revisions",
    operation_id="list_template_revisions",
    response_model=RevisionPage,
    responses=responses(404),
)
async def list_template_revisions(
    _: ReadPrincipal,
    db: DBSession,
    name: TemplateName,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RevisionPage:
    """Revision history, newest first."""
    items, total = await catalogue.list_revisions(db, name, limit=limit, offset=offset)
    return RevisionPage(items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{name}/revisions/{number}",
    operation_id="get_template_revision",
    response_model=RevisionDetail,
    responses=responses(404),
)
async def get_template_revision(
    _: ReadPrincipal, db: DBSession, name: TemplateName, number: Annotated[int, Path(ge=1, le=10_000_000)]
) -> RevisionDetail:
    """One revision: manifest (secret defaults masked) and every file."""
    return await catalogue.revision_detail(db, name, number)


@router.get(
    "/{name}/diff", operation_id="diff_template_revisions", response_model=RevisionDiff, responses=responses(404)
)
async def diff_template_revisions(
    _: ReadPrincipal,
    db: DBSession,
    name: TemplateName,
    from_: Annotated[int, Query(alias="from", ge=1, le=10_000_000)],
    to: Annotated[int, Query(ge=1, le=10_000_000)],
) -> RevisionDiff:
    """Unified diff per file between two revisions."""
    return await catalogue.diff_revisions(db, name, from_, to)


@router.get(
    "/{name}/export",
    operation_id="export_template",
    response_class=Response,
    responses={
        200: {"content": {"application/gzip": {}}, "description": "The template folder as tar.gz"},
        **responses(404),
    },
)
async def export_template(
    _: WritePrincipal,
    db: DBSession,
    name: TemplateName,
    revision: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
) -> Response:
    """The folder as tar.gz, deployable by infra/lxc/deploy.sh. Write scope: it carries secret defaults verbatim."""
    filename, data = await service.export_template(db, name, revision)
    return Response(
        content=data,
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
