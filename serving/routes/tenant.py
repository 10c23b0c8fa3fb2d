"""The caller's tenant as the agents' widget and the KM pages show it: name and wording.

Everything here comes from the tenant's profile (``examples/tenants/<tenant>/profile.yaml``,
neutral defaults where it has none), so a bank's agents see the bank's name and example
conversation, never the sample retailer's.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from serving.deps import AnyReaderDep, PipelineDep

router = APIRouter(prefix="/v1", tags=["tenant"])


class TenantStringsPublic(BaseModel):
    """Interface strings of one language."""

    display_name: str
    paste_placeholder: str | None = Field(default=None, description="Example conversation for the paste box")
    greeting: str | None = Field(default=None, description="The phrasebook's first greeting ({agent} = the agent)")
    related_title: str | None = Field(default=None, description="Heading of the related-articles list")
    related_insert_link: str | None = Field(default=None, description="Button: add an article's link to the reply")
    related_insert_snippet: str | None = Field(default=None, description="Button: add an article's extract to the reply")
    related_matched: str | None = Field(default=None, description="Label before the words that matched")


class TenantPublic(BaseModel):
    tenant: str
    languages: list[str]
    strings: dict[str, TenantStringsPublic] = Field(description="Per language (zh, en)")


@router.get("/tenant", response_model=TenantPublic, summary="The caller's tenant: display name and widget strings")
async def tenant(caller: AnyReaderDep, pipe: PipelineDep) -> TenantPublic:
    profile = pipe.registry.profile(caller.tenant)
    strings = {}
    for lang in ("zh", "en"):
        greeting = profile.phrases(lang, "greeting")
        widget = profile.widget_strings(lang)
        strings[lang] = TenantStringsPublic(
            display_name=profile.company(lang),
            paste_placeholder=widget.paste_placeholder,
            greeting=greeting[0] if greeting else None,
            related_title=widget.related_title,
            related_insert_link=widget.related_insert_link,
            related_insert_snippet=widget.related_insert_snippet,
            related_matched=widget.related_matched,
        )
    return TenantPublic(tenant=caller.tenant, languages=list(profile.languages), strings=strings)
